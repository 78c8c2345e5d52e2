package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

const statusUsage = `usage: symphony status [--json]

Queues (pending, scheduled, processing, dead, oldest wait, throughput),
sidecars and their heartbeats, flags, and the newest failures.
`

func runStatus(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("status", statusUsage, c.env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(statusUsage, "status takes no arguments, got %q", strings.Join(pos, " "))
	}
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	o, err := s.Overview(ctx, 5)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	master := false
	for _, f := range o.Flags {
		if f.Name == "symphony" {
			master = f.Enabled
		}
	}
	c.out("master switch: %s\n\n", yesNo(master))

	tw := tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tPENDING\tSCHEDULED\tRETRYING\tPROCESSING\tDEAD\tOLDEST\tPER MIN (5M)\tPER MIN (1H)")
	for _, q := range o.Queues {
		// A capped count is "at least", marked as the dashboard marks it.
		atLeast := func(n int64) string {
			if q.PendingCapped {
				return fmt.Sprintf("%d+", n)
			}
			return fmt.Sprint(n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%.1f\t%.1f\n", q.Queue, atLeast(q.Pending), atLeast(q.Scheduled),
			atLeast(q.Retrying), q.Processing, q.Dead, ago(time.Duration(q.OldestPendingSeconds*float64(time.Second))),
			q.PerMinute5m, q.PerMinute1h)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	c.out("\n")
	if len(o.Workers) == 0 {
		c.out("no sidecar has run against this database\n")
	} else {
		tw = tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SIDECAR\tSTATUS\tLAST BEAT\tPROCESSING\tVERSION\tHOST")
		for _, w := range o.Workers {
			fmt.Fprintf(tw, "%s\t%s\t%s ago\t%d\t%s\t%s\n", w.ID, w.Status,
				ago(time.Duration(w.HeartbeatAgeSeconds*float64(time.Second))), w.Processing, w.Version, w.Hostname)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	c.out("\n")
	if err := c.printFlags(o.Flags); err != nil {
		return err
	}
	c.printFailures(o.Failures)
	return nil
}

func (c *cli) printFailures(list []ops.Failure) {
	c.out("\n")
	if len(list) == 0 {
		c.out("no recent failures\n")
		return
	}
	c.out("newest failures (symphony failed list for more):\n")
	for _, f := range list {
		state := "dead"
		if f.State == "pending" {
			state = "retrying"
		}
		c.out("  %d %s %s %s ago: %s\n", f.ID, f.Kind, state, ago(time.Since(f.FailedAt)), oneLine(f.Reason, 100))
	}
}
