package sms_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/sms"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// fixture is a database with a suppressed number, a suppression batch on it
// and an outbox that captures what is sent.
func fixture(t *testing.T) (*pgxpool.Pool, *suppression.Batch, *outbox.Outbox) {
	t.Helper()
	db := pgtest.NewDB(t)
	if _, err := db.Pool.Exec(context.Background(), `select symphony.suppress('sms', '+14155550100', 'stop')`); err != nil {
		t.Fatal(err)
	}
	return db.Pool, &suppression.Batch{DB: db.Pool}, outbox.New(1000, slog.New(slog.DiscardHandler))
}

// SMS: a claim's numbers are checked in one statement; a suppressed number
// cancels its message.
func TestSMS_PrepareChecksAClaimInOneStatement(t *testing.T) {
	t.Parallel()
	_, b, box := fixture(t)
	ctx := context.Background()
	h := sms.Handler{Sender: box, Suppressions: b}
	var msgs []*msgtype.Message
	for i := range int64(40) {
		to := fmt.Sprintf("+1415555%04d", 1000+i)
		if i%4 == 0 {
			to = "+14155550100"
		}
		msgs = append(msgs, &msgtype.Message{ID: i, Kind: "sms.send", Attempt: 1, Meta: []byte(`{}`),
			Payload: fmt.Appendf(nil, `{"to": %q, "body": "hi"}`, to)})
	}
	jobs := make([]msgtype.Job, len(msgs))
	if err := h.Prepare(ctx, msgs, jobs); err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for i, m := range msgs {
		_, err := kindtest.Attempt(ctx, h, m, jobs[i])
		var c *msgtype.CancelError
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
	if q := b.Statements(); q != 1 {
		t.Fatalf("40 prepared SMS took %d statements, want 1", q)
	}
}

// When the claim's statement fails, nothing counts as checked: the message
// is checked as it starts, and with the database still unreachable it is
// retried, never sent unchecked.
func TestSMS_FailedPrecheckIsNotTakenAsClear(t *testing.T) {
	t.Parallel()
	pool, b, box := fixture(t)
	ctx := context.Background()
	h := sms.Handler{Sender: box, Suppressions: b}
	m := &msgtype.Message{ID: 2, Kind: "sms.send", Attempt: 1, Meta: []byte(`{}`), Payload: []byte(`{"to": "+14155550101", "body": "hi"}`)}
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
