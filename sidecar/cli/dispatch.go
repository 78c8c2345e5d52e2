package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

const dispatchUsage = `usage:
  symphony dispatch email --to ADDRESS --from ADDRESS --subject TEXT (--text TEXT | --html HTML) [--wait 30s]
  symphony dispatch sms --to +E164 --body TEXT [--from SENDER] [--wait 30s]

Dispatches a test message exactly as the app would (symphony.send_email or
symphony.send_sms) and prints its id. With --wait, waits for the outcome and
fails unless it succeeded. Nothing is claimed while the master switch is off.
`

func runDispatch(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usagef(dispatchUsage, "what to dispatch: email or sms?")
	}
	fs := newFlags("dispatch "+args[0], dispatchUsage, c.env.Stderr)
	to := fs.String("to", "", "recipient")
	from := fs.String("from", "", "sender")
	wait := fs.Duration("wait", 0, "wait this long for the outcome")
	var subject, text, html, body *string
	switch args[0] {
	case "email":
		subject = fs.String("subject", "", "subject line")
		text = fs.String("text", "", "plain-text body")
		html = fs.String("html", "", "HTML body")
	case "sms":
		body = fs.String("body", "", "message text")
	case "-h", "--help", "help":
		fmt.Fprint(c.env.Stderr, dispatchUsage)
		return nil
	default:
		return usagef(dispatchUsage, "unknown message type %q: use email or sms", args[0])
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(dispatchUsage, "unexpected argument %q (values go after flags such as --to)", pos[0])
	}
	required := map[string]*string{"--to": to}
	if args[0] == "email" {
		required["--from"], required["--subject"] = from, subject
	} else {
		required["--body"] = body
	}
	for _, name := range []string{"--to", "--from", "--subject", "--body"} {
		if v, ok := required[name]; ok && *v == "" {
			return usagef(dispatchUsage, "%s is required", name)
		}
	}
	if args[0] == "email" && *text == "" && *html == "" {
		return usagef(dispatchUsage, "--text or --html is required: the email needs a body")
	}
	if *wait < 0 {
		return usagef(dispatchUsage, "--wait must not be negative")
	}

	s, err := c.store(ctx)
	if err != nil {
		return err
	}
	var id int64
	if args[0] == "email" {
		id, err = s.SendEmail(ctx, *to, *from, *subject, *text, *html)
	} else {
		id, err = s.SendSMS(ctx, *to, *body, *from)
	}
	if err != nil {
		return err
	}
	c.out("dispatched %s message %d\n", args[0], id)
	if *wait == 0 {
		return nil
	}
	return c.waitOutcome(ctx, s, id, *wait)
}

// waitOutcome polls message id until it finishes or wait passes.
func (c *cli) waitOutcome(ctx context.Context, s *ops.Store, id int64, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		m, err := s.Message(ctx, id)
		if err != nil {
			return err
		}
		switch m.State {
		case "succeeded":
			c.out("message %d succeeded after %d %s: %s\n", id, m.Attempts, plural(m.Attempts, "attempt", "attempts"), oneLine(string(m.Result), 300))
			return nil
		case "dead", "cancelled":
			return fmt.Errorf("message %d is %s: %s", id, m.State, deref(m.LastError))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("message %d still %s after %s (is a sidecar running, and the master switch on?)", id, m.State, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
