package handler_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/handler"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// Suppressions are checked right before the provider call: an address
// suppressed after the message was dispatched is dropped, and a message left
// with no recipient is cancelled, never sent.
func TestEmail_SuppressionAfterDispatch(t *testing.T) {
	t.Parallel()
	pool := testDB(t)
	ctx := context.Background()
	s := &sender{}
	h := handler.Email{Sender: s, Suppressions: handler.SuppressionList{DB: pool}}
	exec(t, pool, `select symphony.dispatch('email.send', '{"to": ["Ann <ann@example.com>", "bo@example.com"], "cc": "cy@example.com",
		"from": "me@example.com", "subject": "s", "text": "t"}')`)
	exec(t, pool, `select symphony.suppress('email', 'BO@example.com', 'bounced')`)
	exec(t, pool, `select symphony.suppress('email', 'cy@example.com', 'complained')`)
	res, err := h.Handle(ctx, message(t, pool, `true`))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.emails) != 1 || len(s.emails[0].To) != 1 || s.emails[0].To[0].String() != "Ann <ann@example.com>" || len(s.emails[0].Cc) != 0 {
		t.Fatalf("sent %+v", s.emails)
	}
	if !strings.Contains(string(res), `"suppressed"`) || !strings.Contains(string(res), "bounced") {
		t.Fatalf("result %s does not say who was left out", res)
	}

	exec(t, pool, `select symphony.suppress('email', 'ann@example.com', 'unsubscribed')`)
	_, err = h.Handle(ctx, message(t, pool, `true`))
	var c *worker.CancelError
	if !errors.As(err, &c) || c.By != "suppression" || !strings.Contains(c.Reason, "suppressed") {
		t.Fatalf("every recipient suppressed: %v, want a cancellation by suppression", err)
	}
	if len(s.emails) != 1 {
		t.Fatal("a suppressed recipient was contacted")
	}
}

// A quoted display name is a name: addresses in it are no recipients, so a
// suppressed one there neither stops the message nor is mailed, and the
// suppression check is on the address in angle brackets, the one recipient.
func TestEmail_SuppressionChecksTheAddressNotTheName(t *testing.T) {
	t.Parallel()
	pool := testDB(t)
	ctx := context.Background()
	s := &sender{}
	h := handler.Email{Sender: s, Suppressions: handler.SuppressionList{DB: pool}}
	const payload = `{"to": "\"gone@example.com, x@example.com\" <ok@example.com>", "from": "me@example.com", "subject": "s", "text": "t"}`
	exec(t, pool, `select symphony.suppress('email', 'gone@example.com', 'bounced')`)
	exec(t, pool, `select symphony.dispatch('email.send', '`+payload+`')`)
	if _, err := h.Handle(ctx, message(t, pool, `true`)); err != nil {
		t.Fatal(err)
	}
	want := provider.Address{Name: "gone@example.com, x@example.com", Email: "ok@example.com"}
	if len(s.emails) != 1 || len(s.emails[0].To) != 1 || s.emails[0].To[0] != want {
		t.Fatalf("sent %+v, want one email to %+v", s.emails, want)
	}
	exec(t, pool, `select symphony.suppress('email', 'OK@example.com', 'complained')`)
	exec(t, pool, `select symphony.dispatch('email.send', '`+payload+`')`)
	_, err := h.Handle(ctx, message(t, pool, `true`))
	var c *worker.CancelError
	if !errors.As(err, &c) || c.By != "suppression" || len(s.emails) != 1 {
		t.Fatalf("the recipient suppressed: %v after %d sends, want a cancellation", err, len(s.emails))
	}
}

// An unsubscribe does not stop a transactional message; a bounce does.
func TestEmail_TransactionalIgnoresUnsubscribeOnly(t *testing.T) {
	t.Parallel()
	pool := testDB(t)
	s := &sender{}
	h := handler.Email{Sender: s, Suppressions: handler.SuppressionList{DB: pool}}
	exec(t, pool, `select symphony.dispatch('email.send', '{"to": "ann@example.com", "from": "me@example.com", "subject": "Reset", "text": "t"}',
		'{"meta": {"transactional": true}}')`)
	exec(t, pool, `select symphony.suppress('email', 'ann@example.com', 'unsubscribed')`)
	if _, err := h.Handle(context.Background(), message(t, pool, `true`)); err != nil || len(s.emails) != 1 {
		t.Fatalf("transactional after an unsubscribe: %v, %d sent", err, len(s.emails))
	}
	exec(t, pool, `select symphony.suppress('email', 'ann@example.com', 'bounced')`)
	_, err := h.Handle(context.Background(), message(t, pool, `true`))
	var c *worker.CancelError
	if !errors.As(err, &c) || len(s.emails) != 1 {
		t.Fatalf("transactional to a bounced address: %v, %d sent", err, len(s.emails))
	}
}

// SMS: STOP cancels; outside meta.quiet_hours the message is deferred.
func TestSMS_SuppressionAndQuietHours(t *testing.T) {
	t.Parallel()
	pool := testDB(t)
	s := &sender{}
	clk := newClock(t, "2030-01-15T03:00:00Z") // 22:00 in New York
	h := handler.SMS{Sender: s, Suppressions: handler.SuppressionList{DB: pool}, Now: clk.Now}
	exec(t, pool, `select symphony.send_sms('+14155550100', 'hi', null, '{"meta": {"quiet_hours": {"time_zone": "America/New_York"}}}')`)
	_, err := h.Handle(context.Background(), message(t, pool, `true`))
	var d *worker.DeferError
	if !errors.As(err, &d) || d.After.Hours() != 10 {
		t.Fatalf("at 22:00 local: %v, want a 10h deferral", err)
	}
	clk.Set(t, "2030-01-15T13:00:00Z")
	if _, err := h.Handle(context.Background(), message(t, pool, `true`)); err != nil || len(s.sms) != 1 {
		t.Fatalf("at 08:00 local: %v, %d sent", err, len(s.sms))
	}
	exec(t, pool, `select symphony.suppress('sms', '+1 415 555 0100', 'stop')`)
	_, err = h.Handle(context.Background(), message(t, pool, `true`))
	var c *worker.CancelError
	if !errors.As(err, &c) || len(s.sms) != 1 {
		t.Fatalf("after STOP: %v, %d sent", err, len(s.sms))
	}
}
