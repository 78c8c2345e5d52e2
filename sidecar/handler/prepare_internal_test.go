package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// prepareFixture is a database with three suppressed addresses, a suppression
// batch on it and an outbox that captures what is sent.
func prepareFixture(t *testing.T) (*pgxpool.Pool, *SuppressionBatch, *outbox.Outbox) {
	t.Helper()
	db := pgtest.NewDB(t)
	for _, q := range []string{
		`select symphony.suppress('email', 'bounced@example.com', 'bounced')`,
		`select symphony.suppress('email', 'unsub@example.com', 'unsubscribed')`,
		`select symphony.suppress('sms', '+14155550100', 'stop')`,
	} {
		if _, err := db.Pool.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	return db.Pool, &SuppressionBatch{DB: db.Pool}, outbox.New(1000, slog.New(slog.DiscardHandler))
}

func emailMessage(id int64, to string, meta string) *queue.Message {
	return &queue.Message{ID: id, Kind: "email.send", Queue: "email", Attempt: 1, MaxAttempts: 5, Meta: []byte(meta),
		Payload: fmt.Appendf(nil, `{"to": %q, "cc": ["cc%d@example.com"], "from": "me@example.com", "subject": "s", "text": "t"}`, to, id)}
}

// A claim's suppression checks take one statement, and each message then
// goes as the check made on its own would have it: a suppressed recipient
// cancels it, an unsubscribe does not stop a transactional one, an
// undecodable payload still fails as invalid.
func TestEmail_PrepareChecksAClaimInOneStatement(t *testing.T) {
	t.Parallel()
	_, b, box := prepareFixture(t)
	ctx := context.Background()
	h := Email{Sender: box, Suppressions: b}
	var msgs []*queue.Message
	for i := range int64(300) {
		switch i % 5 {
		case 0:
			msgs = append(msgs, emailMessage(i, "Bo <BOUNCED@example.com>", `{}`))
		case 1:
			msgs = append(msgs, emailMessage(i, "unsub@example.com", `{"transactional": true}`))
		case 2:
			msgs = append(msgs, emailMessage(i, "unsub@example.com", `{}`))
		case 3:
			msgs = append(msgs, &queue.Message{ID: i, Kind: "email.send", Attempt: 1, Meta: []byte(`{}`), Payload: []byte(`{"to": 5}`)})
		default:
			msgs = append(msgs, emailMessage(i, fmt.Sprintf("ok%d@example.com", i), `{}`))
		}
	}
	if err := h.Prepare(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	if q := b.queries.Load(); q != 1 {
		t.Fatalf("Prepare of 300 messages ran %d statements, want 1", q)
	}
	var sent, cancelled, invalid int
	for i, m := range msgs {
		_, err := h.Handle(ctx, m)
		if m.Prepared != nil {
			t.Fatalf("message %d still holds what was prepared for it (and any attachments) after its attempt", i)
		}
		var c *worker.CancelError
		switch {
		case err == nil:
			sent++
			if i%5 == 0 || i%5 == 2 || i%5 == 3 {
				t.Errorf("message %d was sent: %s", i, m.Payload)
			}
		case errors.As(err, &c):
			cancelled++
			if i%5 != 0 && i%5 != 2 || c.By != CancelledBySuppression {
				t.Errorf("message %d cancelled by %q: %s", i, c.By, c.Reason)
			}
		case provider.IsPermanent(err):
			invalid++
			if i%5 != 3 {
				t.Errorf("message %d failed: %v", i, err)
			}
		default:
			t.Errorf("message %d: %v", i, err)
		}
	}
	if sent != 120 || cancelled != 120 || invalid != 60 {
		t.Fatalf("sent %d, cancelled %d, invalid %d; want 120, 120, 60", sent, cancelled, invalid)
	}
	if q := b.queries.Load(); q != 1 {
		t.Fatalf("handling prepared messages ran %d more statements, want none", q-1)
	}
}

// A check made at claim time that is too old by the time the message starts
// is made again: an opt-out recorded meanwhile still stops the message.
func TestEmail_StalePreparedCheckIsMadeAgain(t *testing.T) {
	t.Parallel()
	pool, b, box := prepareFixture(t)
	ctx := context.Background()
	h := Email{Sender: box, Suppressions: b}
	m := emailMessage(1, "late@example.com", `{}`)
	if err := h.Prepare(ctx, []*queue.Message{m}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `select symphony.suppress('email', 'late@example.com', 'bounced')`); err != nil {
		t.Fatal(err)
	}
	p := m.Prepared.(*emailPrepared)
	if !p.usable() {
		t.Fatal("a check just made is not usable")
	}
	p.checkedAt = time.Now().Add(-preparedMaxAge - time.Millisecond)
	_, err := h.Handle(ctx, m)
	var c *worker.CancelError
	if !errors.As(err, &c) || !strings.Contains(c.Reason, "late@example.com") {
		t.Fatalf("stale check: %v, want a cancellation by the suppression recorded after it", err)
	}
	if len(box.Entries()) != 0 {
		t.Fatal("sent to an address suppressed after the claim-time check")
	}
}

// When the claim's statement fails, nothing counts as checked: each message
// is checked as it starts, and with the database still unreachable it is
// retried, never sent unchecked.
func TestPrepare_FailedCheckIsNotTakenAsClear(t *testing.T) {
	t.Parallel()
	pool, b, box := prepareFixture(t)
	ctx := context.Background()
	email := Email{Sender: box, Suppressions: b}
	sms := SMS{Sender: box, Suppressions: b}
	em := emailMessage(1, "ok@example.com", `{}`)
	sm := &queue.Message{ID: 2, Kind: "sms.send", Attempt: 1, Meta: []byte(`{}`), Payload: []byte(`{"to": "+14155550101", "body": "hi"}`)}
	pool.Close()
	if err := email.Prepare(ctx, []*queue.Message{em}); err == nil {
		t.Fatal("Prepare with the database closed: no error")
	}
	if err := sms.Prepare(ctx, []*queue.Message{sm}); err == nil {
		t.Fatal("Prepare with the database closed: no error")
	}
	for _, c := range []struct {
		h worker.Handler
		m *queue.Message
	}{{email, em}, {sms, sm}} {
		if _, err := c.h.Handle(ctx, c.m); err == nil || provider.IsPermanent(err) {
			t.Fatalf("%s with the suppression list unreachable: %v, want a transient error", c.m.Kind, err)
		}
	}
	if len(box.Entries()) != 0 {
		t.Fatal("sent without a suppression check")
	}
}

// SMS: a claim's numbers are checked in one statement; a suppressed number
// cancels its message.
func TestSMS_PrepareChecksAClaimInOneStatement(t *testing.T) {
	t.Parallel()
	_, b, box := prepareFixture(t)
	ctx := context.Background()
	h := SMS{Sender: box, Suppressions: b}
	var msgs []*queue.Message
	for i := range int64(40) {
		to := fmt.Sprintf("+1415555%04d", 1000+i)
		if i%4 == 0 {
			to = "+14155550100"
		}
		msgs = append(msgs, &queue.Message{ID: i, Kind: "sms.send", Attempt: 1, Meta: []byte(`{}`),
			Payload: fmt.Appendf(nil, `{"to": %q, "body": "hi"}`, to)})
	}
	if err := h.Prepare(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for i, m := range msgs {
		_, err := h.Handle(ctx, m)
		var c *worker.CancelError
		if errors.As(err, &c) {
			cancelled++
			if i%4 != 0 {
				t.Errorf("message %d cancelled: %s", i, c.Reason)
			}
		} else if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if cancelled != 10 || len(box.Entries()) != 30 {
		t.Fatalf("cancelled %d, sent %d; want 10 and 30", cancelled, len(box.Entries()))
	}
	if q := b.queries.Load(); q != 1 {
		t.Fatalf("40 prepared SMS took %d statements, want 1", q)
	}
}
