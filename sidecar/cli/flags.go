package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

const flagsUsage = `usage:
  symphony flags list
  symphony flags set NAME [--enabled | --disabled] [--percent N] [--actor NAME]

set changes a flag at once, for every sidecar and trigger (no redeploy), and
records the change in symphony.flag_changes under --actor, else $SYMPHONY_ACTOR,
else $USER. The master switch is the flag named symphony.
`

func runFlags(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usagef(flagsUsage, "which action: list or set?")
	}
	switch args[0] {
	case "list":
		if len(args) > 1 {
			return usagef(flagsUsage, "list takes no arguments, got %q", strings.Join(args[1:], " "))
		}
		s, err := c.store(ctx)
		if err != nil {
			return err
		}
		flags, err := s.Flags(ctx)
		if err != nil {
			return err
		}
		return c.printFlags(flags)
	case "set":
		return flagsSet(ctx, c, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(c.env.Stderr, flagsUsage)
		return nil
	default:
		return usagef(flagsUsage, "unknown action %q: use list or set", args[0])
	}
}

func flagsSet(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("flags set", flagsUsage, c.env.Stderr)
	enable := fs.Bool("enabled", false, "turn the flag on")
	disable := fs.Bool("disabled", false, "turn the flag off")
	percent := fs.Int("percent", -1, "rollout percentage, 0-100")
	actorFlag := fs.String("actor", "", "who is making the change (default $SYMPHONY_ACTOR or $USER)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef(flagsUsage, "set takes one flag name, got %d", len(pos))
	}
	var change ops.FlagChange
	switch {
	case *enable && *disable:
		return usagef(flagsUsage, "--enabled and --disabled contradict each other")
	case *enable:
		change.Enabled = enable
	case *disable:
		off := false
		change.Enabled = &off
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["percent"] {
		if *percent < 0 || *percent > 100 {
			return usagef(flagsUsage, "--percent must be between 0 and 100, got %d", *percent)
		}
		change.RolloutPercent = percent
	}
	if change.Enabled == nil && change.RolloutPercent == nil {
		return usagef(flagsUsage, "nothing to set: give --enabled, --disabled or --percent")
	}
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	f, err := s.SetFlag(ctx, pos[0], change, c.actor(*actorFlag))
	if err != nil {
		return err
	}
	c.out("flag %s: %s, rollout %d%%, effective %d%% (by %s)\n", f.Name, yesNo(f.Enabled), f.RolloutPercent, f.EffectivePercent, f.UpdatedBy)
	return nil
}

func (c *cli) printFlags(flags []ops.Flag) error {
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENABLED\tROLLOUT\tEFFECTIVE\tUPDATED\tBY")
	for _, f := range flags {
		fmt.Fprintf(tw, "%s\t%s\t%d%%\t%d%%\t%s ago\t%s\n", f.Name, yesNo(f.Enabled), f.RolloutPercent,
			f.EffectivePercent, ago(time.Since(f.UpdatedAt)), f.UpdatedBy)
	}
	return tw.Flush()
}
