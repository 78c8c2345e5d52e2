package email_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/email"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// Suppressions are checked right before the provider call: an address
// suppressed after the message was dispatched is dropped, and a message left
// with no recipient is cancelled, never sent.
func TestEmail_SuppressionAfterDispatch(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	ctx := context.Background()
	s := &kindtest.Sender{}
	h := email.Handler{Sender: s, Suppressions: suppression.List{DB: pool}}
	kindtest.Exec(t, pool, `select symphony.dispatch('email.send', '{"to": ["Ann <ann@example.com>", "bo@example.com"], "cc": "cy@example.com",
		"from": "me@example.com", "subject": "s", "text": "t"}')`)
	kindtest.Exec(t, pool, `select symphony.suppress('email', 'BO@example.com', 'bounced')`)
	kindtest.Exec(t, pool, `select symphony.suppress('email', 'cy@example.com', 'complained')`)
	res, err := h.Handle(ctx, kindtest.Message(t, pool, `true`))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Emails) != 1 || len(s.Emails[0].To) != 1 || s.Emails[0].To[0].String() != "Ann <ann@example.com>" || len(s.Emails[0].Cc) != 0 {
		t.Fatalf("sent %+v", s.Emails)
	}
	if !strings.Contains(string(res), `"suppressed"`) || !strings.Contains(string(res), "bounced") {
		t.Fatalf("result %s does not say who was left out", res)
	}

	kindtest.Exec(t, pool, `select symphony.suppress('email', 'ann@example.com', 'unsubscribed')`)
	_, err = h.Handle(ctx, kindtest.Message(t, pool, `true`))
	var c *msgtype.CancelError
	if !errors.As(err, &c) || c.By != "suppression" || !strings.Contains(c.Reason, "suppressed") {
		t.Fatalf("every recipient suppressed: %v, want a cancellation by suppression", err)
	}
	if len(s.Emails) != 1 {
		t.Fatal("a suppressed recipient was contacted")
	}
}

// A quoted display name is a name: addresses in it are no recipients, so a
// suppressed one there neither stops the message nor is mailed, and the
// suppression check is on the address in angle brackets, the one recipient.
func TestEmail_SuppressionChecksTheAddressNotTheName(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	ctx := context.Background()
	s := &kindtest.Sender{}
	h := email.Handler{Sender: s, Suppressions: suppression.List{DB: pool}}
	const payload = `{"to": "\"gone@example.com, x@example.com\" <ok@example.com>", "from": "me@example.com", "subject": "s", "text": "t"}`
	kindtest.Exec(t, pool, `select symphony.suppress('email', 'gone@example.com', 'bounced')`)
	kindtest.Exec(t, pool, `select symphony.dispatch('email.send', '`+payload+`')`)
	if _, err := h.Handle(ctx, kindtest.Message(t, pool, `true`)); err != nil {
		t.Fatal(err)
	}
	want := provider.Address{Name: "gone@example.com, x@example.com", Email: "ok@example.com"}
	if len(s.Emails) != 1 || len(s.Emails[0].To) != 1 || s.Emails[0].To[0] != want {
		t.Fatalf("sent %+v, want one email to %+v", s.Emails, want)
	}
	kindtest.Exec(t, pool, `select symphony.suppress('email', 'OK@example.com', 'complained')`)
	kindtest.Exec(t, pool, `select symphony.dispatch('email.send', '`+payload+`')`)
	_, err := h.Handle(ctx, kindtest.Message(t, pool, `true`))
	var c *msgtype.CancelError
	if !errors.As(err, &c) || c.By != "suppression" || len(s.Emails) != 1 {
		t.Fatalf("the recipient suppressed: %v after %d sends, want a cancellation", err, len(s.Emails))
	}
}

// An unsubscribe does not stop a transactional message; a bounce does.
func TestEmail_TransactionalIgnoresUnsubscribeOnly(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	s := &kindtest.Sender{}
	h := email.Handler{Sender: s, Suppressions: suppression.List{DB: pool}}
	kindtest.Exec(t, pool, `select symphony.dispatch('email.send', '{"to": "ann@example.com", "from": "me@example.com", "subject": "Reset", "text": "t"}',
		'{"meta": {"transactional": true}}')`)
	kindtest.Exec(t, pool, `select symphony.suppress('email', 'ann@example.com', 'unsubscribed')`)
	if _, err := h.Handle(context.Background(), kindtest.Message(t, pool, `true`)); err != nil || len(s.Emails) != 1 {
		t.Fatalf("transactional after an unsubscribe: %v, %d sent", err, len(s.Emails))
	}
	kindtest.Exec(t, pool, `select symphony.suppress('email', 'ann@example.com', 'bounced')`)
	_, err := h.Handle(context.Background(), kindtest.Message(t, pool, `true`))
	var c *msgtype.CancelError
	if !errors.As(err, &c) || len(s.Emails) != 1 {
		t.Fatalf("transactional to a bounced address: %v, %d sent", err, len(s.Emails))
	}
}
