package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

const drainUsage = `usage: symphony drain [--timeout 5m] [--interval 1s] [--actor NAME]

Drains the queue system before maintenance: turns the master switch (flag
symphony) off, so no sidecar claims anything more, then waits until no message
is processing anywhere and reports. Pending messages stay queued, nothing is
lost. While the switch is off, symphony.rollout routes every subject to the
legacy path too. Resume with: symphony flags set symphony --enabled
Exits 1 if messages are still processing when --timeout passes (a sidecar that
died holds its messages until their leases expire and are rescued).
`

func runDrain(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("drain", drainUsage, c.env.Stderr)
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for in-flight messages")
	interval := fs.Duration("interval", time.Second, "how often to check")
	actorFlag := fs.String("actor", "", "who is draining (default $SYMPHONY_ACTOR or $USER)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef(drainUsage, "drain takes no arguments, got %q", strings.Join(pos, " "))
	case *timeout <= 0:
		return usagef(drainUsage, "--timeout must be positive")
	case *interval <= 0:
		return usagef(drainUsage, "--interval must be positive")
	}
	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	off := false
	if _, err := s.SetFlag(ctx, "symphony", ops.FlagChange{Enabled: &off}, c.actor(*actorFlag)); err != nil {
		return err
	}
	c.out("master switch off: no sidecar claims new messages (resume with: symphony flags set symphony --enabled)\n")

	start := time.Now()
	last := int64(-1)
	for {
		n, err := s.Processing(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			c.out("drained after %s: no message is processing\n", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if n != last {
			c.out("waiting for %d processing %s\n", n, plural(int(n), "message", "messages"))
			last = n
		}
		if time.Since(start) >= *timeout {
			return fmt.Errorf("still %d processing after %s; the master switch stays off", n, *timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*interval):
		}
	}
}
