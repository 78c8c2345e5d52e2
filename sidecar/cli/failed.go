package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

const failedUsage = `usage:
  symphony failed list [--queue q] [--kind k] [--since 1h] [--limit 50] [--retrying]
  symphony failed show ID
  symphony failed retry ID... | --all [--queue q] [--kind k] [--since 1h] [--limit n] [--actor NAME]
  symphony failed remove ID... [--actor NAME]

Dead messages are the failure queue: permanent failures and messages that used
up their attempts. list shows the newest first with the reason (--retrying adds
messages waiting to retry after a failed attempt); show prints one message in
full; retry sends dead messages again from their first attempt (their error
history is kept); remove deletes dead messages for good. retry and remove never
touch a message that is not dead, and are recorded in symphony.message_actions
under --actor, else $SYMPHONY_ACTOR, else $USER.
`

func runFailed(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usagef(failedUsage, "which action: list, show, retry or remove?")
	}
	switch args[0] {
	case "list":
		return failedList(ctx, c, args[1:])
	case "show":
		return failedShow(ctx, c, args[1:])
	case "retry":
		return failedRetry(ctx, c, args[1:])
	case "remove":
		return failedRemove(ctx, c, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(c.env.Stderr, failedUsage)
		return nil
	default:
		return usagef(failedUsage, "unknown action %q: use list, show, retry or remove", args[0])
	}
}

// filterFlags adds --queue, --kind, --since and --limit.
func filterFlags(c *cli, name string, defaultLimit int) (*ops.FailureFilter, func(), *flag.FlagSet) {
	fs := newFlags(name, failedUsage, c.env.Stderr)
	f := &ops.FailureFilter{}
	since := &sinceFlag{}
	fs.StringVar(&f.Queue, "queue", "", "only this queue")
	fs.StringVar(&f.Kind, "kind", "", "only this kind")
	fs.Var(since, "since", "only failures within this long (30m, 2h, 7d)")
	fs.IntVar(&f.Limit, "limit", defaultLimit, "at most this many")
	return f, func() { f.Since = since.d }, fs
}

func failedList(ctx context.Context, c *cli, args []string) error {
	f, finish, fs := filterFlags(c, "failed list", 50)
	retrying := fs.Bool("retrying", false, "include messages waiting to retry")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	finish()
	if len(pos) > 0 {
		return usagef(failedUsage, "list takes no arguments, got %q", strings.Join(pos, " "))
	}
	if f.Limit < 1 {
		return usagef(failedUsage, "--limit must be at least 1, got %d", f.Limit)
	}
	f.DeadOnly = !*retrying
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	list, err := s.Failures(ctx, *f)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		c.out("no failed messages\n")
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tKIND\tSTATE\tATTEMPTS\tFAILED\tCODE\tREASON")
	for _, m := range list {
		state := m.State
		if m.State == "pending" {
			state = "retrying"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", m.ID, m.Queue, m.Kind, state, m.Attempts, m.MaxAttempts,
			ago(time.Since(m.FailedAt)), deref(m.Code), oneLine(m.Reason, 100))
	}
	return tw.Flush()
}

func failedShow(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("failed show", failedUsage, c.env.Stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef(failedUsage, "show takes one message id")
	}
	ids, err := parseIDs(failedUsage, pos)
	if err != nil {
		return err
	}
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	m, err := s.Message(ctx, ids[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("id", fmt.Sprint(m.ID))
	row("kind", m.Kind)
	row("queue", m.Queue)
	row("state", m.State)
	row("attempts", fmt.Sprintf("%d of %d", m.Attempts, m.MaxAttempts))
	row("created", stamp(&m.CreatedAt))
	row("last attempt", stamp(m.AttemptedAt))
	row("finished", stamp(m.FinishedAt))
	if m.State == "pending" {
		row("next attempt", stamp(&m.AvailableAt))
	}
	if m.LockedBy != nil {
		row("held by", fmt.Sprintf("%s until %s", *m.LockedBy, stamp(m.LockedUntil)))
	}
	if m.CancelledBy != nil {
		row("cancelled by", *m.CancelledBy)
	}
	if m.Subject != nil {
		row("subject", *m.Subject)
	}
	if m.DedupeKey != nil {
		row("dedupe key", *m.DedupeKey)
	}
	row("last error", deref(m.LastError))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Errors) > 0 {
		c.out("\nattempts that failed:\n")
		for _, e := range m.Errors {
			extra := ""
			if e.Code != "" {
				extra += " code " + e.Code
			}
			if e.MaybeSent {
				extra += " (the provider may have accepted it)"
			}
			c.out("  #%d %s%s by %s: %s\n", e.Attempt, e.At.UTC().Format(time.RFC3339), extra, orDash(e.Worker), e.Error)
		}
	}
	c.out("\npayload:\n%s\n", indentJSON(m.Payload))
	if len(m.Result) > 0 && string(m.Result) != "null" {
		c.out("\nresult:\n%s\n", indentJSON(m.Result))
	}
	return nil
}

func failedRetry(ctx context.Context, c *cli, args []string) error {
	f, finish, fs := filterFlags(c, "failed retry", 0)
	all := fs.Bool("all", false, "retry every dead message the filters match")
	actorFlag := fs.String("actor", "", "who is retrying (default $SYMPHONY_ACTOR or $USER)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	finish()
	filtered := f.Queue != "" || f.Kind != "" || f.Since > 0 || f.Limit != 0
	switch {
	case *all && len(pos) > 0:
		return usagef(failedUsage, "give message ids or --all, not both")
	case !*all && len(pos) == 0:
		return usagef(failedUsage, "retry needs message ids, or --all (with optional --queue, --kind, --since, --limit)")
	case !*all && filtered:
		return usagef(failedUsage, "--queue, --kind, --since and --limit go with --all, not with message ids")
	case f.Limit < 0:
		return usagef(failedUsage, "--limit must not be negative, got %d", f.Limit)
	}
	if *all {
		s, err := c.store(ctx)
		if err != nil {
			return err
		}
		ids, err := s.RetryDeadMatching(ctx, *f, c.actor(*actorFlag))
		if err != nil {
			return err
		}
		c.out("retried %d dead %s%s\n", len(ids), plural(len(ids), "message", "messages"), idList(ids))
		return nil
	}
	ids, err := parseIDs(failedUsage, pos)
	if err != nil {
		return err
	}
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	res, err := s.RetryDead(ctx, ids, c.actor(*actorFlag))
	if err != nil {
		return err
	}
	return c.report(res, "retried")
}

func failedRemove(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("failed remove", failedUsage, c.env.Stderr)
	actorFlag := fs.String("actor", "", "who is removing (default $SYMPHONY_ACTOR or $USER)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef(failedUsage, "remove needs the ids of dead messages")
	}
	ids, err := parseIDs(failedUsage, pos)
	if err != nil {
		return err
	}
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	res, err := s.RemoveDead(ctx, ids, c.actor(*actorFlag))
	if err != nil {
		return err
	}
	return c.report(res, "removed")
}

// report prints what happened to each requested message and fails when any
// was left alone.
func (c *cli) report(res []ops.Result, verb string) error {
	skipped := 0
	for _, r := range res {
		switch {
		case r.Done:
			c.out("message %d %s\n", r.ID, verb)
		case r.State == nil:
			skipped++
			c.out("message %d not %s: no such message\n", r.ID, verb)
		default:
			skipped++
			c.out("message %d not %s: it is %s, not dead\n", r.ID, verb, *r.State)
		}
	}
	if skipped > 0 {
		return fmt.Errorf("%d of %d %s not %s", skipped, len(res), plural(len(res), "message", "messages"), verb)
	}
	return nil
}

func indentJSON(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "  ", "  ")
	return "  " + string(b)
}
