package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// prepareFixture is a database with three suppressed addresses, a suppression
// batch on it and an outbox that captures what is sent.
func prepareFixture(t *testing.T) (*pgxpool.Pool, *suppression.Batch, *outbox.Outbox) {
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
	return db.Pool, &suppression.Batch{DB: db.Pool}, outbox.New(1000, slog.New(slog.DiscardHandler))
}

func emailMessage(id int64, to string, meta string) *msgtype.Message {
	return &msgtype.Message{ID: id, Kind: "email.send", Queue: "email", Attempt: 1, MaxAttempts: 5, Meta: []byte(meta),
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
	h := Handler{Sender: box, Suppressions: b}
	var msgs []*msgtype.Message
	for i := range int64(300) {
		switch i % 5 {
		case 0:
			msgs = append(msgs, emailMessage(i, "Bo <BOUNCED@example.com>", `{}`))
		case 1:
			msgs = append(msgs, emailMessage(i, "unsub@example.com", `{"transactional": true}`))
		case 2:
			msgs = append(msgs, emailMessage(i, "unsub@example.com", `{}`))
		case 3:
			msgs = append(msgs, &msgtype.Message{ID: i, Kind: "email.send", Attempt: 1, Meta: []byte(`{}`), Payload: []byte(`{"to": 5}`)})
		default:
			msgs = append(msgs, emailMessage(i, fmt.Sprintf("ok%d@example.com", i), `{}`))
		}
	}
	jobs := make([]msgtype.Job, len(msgs))
	if err := h.Prepare(ctx, msgs, jobs); err != nil {
		t.Fatal(err)
	}
	if q := b.Statements(); q != 1 {
		t.Fatalf("Prepare of 300 messages ran %d statements, want 1", q)
	}
	var sent, cancelled, invalid int
	for i, m := range msgs {
		if (jobs[i] == nil) != (i%5 == 3) {
			t.Errorf("message %d: job %v; want one for every message that decodes", i, jobs[i])
		}
		_, err := kindtest.Attempt(ctx, h, m, jobs[i])
		var c *msgtype.CancelError
		switch {
		case err == nil:
			sent++
			if i%5 == 0 || i%5 == 2 || i%5 == 3 {
				t.Errorf("message %d was sent: %s", i, m.Payload)
			}
		case errors.As(err, &c):
			cancelled++
			if i%5 != 0 && i%5 != 2 || c.By != suppression.CancelledBy {
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
	if q := b.Statements(); q != 1 {
		t.Fatalf("handling prepared messages ran %d more statements, want none", q-1)
	}
}

// A check made at claim time that is too old by the time the message starts
// is made again: an opt-out recorded meanwhile still stops the message.
func TestEmail_StalePreparedCheckIsMadeAgain(t *testing.T) {
	t.Parallel()
	pool, b, box := prepareFixture(t)
	ctx := context.Background()
	h := Handler{Sender: box, Suppressions: b}
	m := emailMessage(1, "late@example.com", `{}`)
	jobs := make([]msgtype.Job, 1)
	if err := h.Prepare(ctx, []*msgtype.Message{m}, jobs); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `select symphony.suppress('email', 'late@example.com', 'bounced')`); err != nil {
		t.Fatal(err)
	}
	j := jobs[0].(*job)
	if !j.Fresh() {
		t.Fatal("a check just made is not fresh")
	}
	j.At = time.Now().Add(-suppression.MaxAge - time.Millisecond)
	_, err := j.Send(ctx)
	var c *msgtype.CancelError
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
func TestEmail_FailedPrecheckIsNotTakenAsClear(t *testing.T) {
	t.Parallel()
	pool, b, box := prepareFixture(t)
	ctx := context.Background()
	h := Handler{Sender: box, Suppressions: b}
	m := emailMessage(1, "ok@example.com", `{}`)
	pool.Close()
	jobs := make([]msgtype.Job, 1)
	if err := h.Prepare(ctx, []*msgtype.Message{m}, jobs); err == nil {
		t.Fatal("Prepare with the database closed: no error")
	}
	for _, j := range []msgtype.Job{jobs[0], nil} {
		if _, err := kindtest.Attempt(ctx, h, m, j); err == nil || provider.IsPermanent(err) {
			t.Fatalf("job %v with the suppression list unreachable: %v, want a transient error", j, err)
		}
	}
	if len(box.Entries()) != 0 {
		t.Fatal("sent without a suppression check")
	}
}
