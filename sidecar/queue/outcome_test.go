package queue_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// Cancelled ends a message with who and why, and no error entry; Deferred puts
// it back without counting the attempt or recording anything.
func TestStore_CompleteCancelledAndDeferred(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 2)
	s := queue.NewStore(pool, "w1")
	msgs, err := s.Claim(ctx, "email", 10, time.Minute)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("claimed %d, %v", len(msgs), err)
	}
	written, err := s.Complete(ctx, []queue.Outcome{
		{ID: msgs[0].ID, Attempt: 1, State: queue.Cancelled, Code: "suppression", Error: "suppressed: a@example.com (bounced)",
			Result: json.RawMessage(`{"suppressed": [{"address": "a@example.com", "reason": "bounced"}]}`)},
		{ID: msgs[1].ID, Attempt: 1, State: queue.Deferred, RetryIn: time.Hour, Error: "quiet hours"},
	})
	if err != nil || len(written) != 2 {
		t.Fatalf("wrote %v, %v", written, err)
	}
	var st, by, lastError string
	var attempts, errs int
	var finished bool
	err = pool.QueryRow(ctx, `select state, cancelled_by, last_error, attempts, jsonb_array_length(errors), finished_at is not null
		from symphony.messages where id = $1`, msgs[0].ID).Scan(&st, &by, &lastError, &attempts, &errs, &finished)
	if err != nil || st != "cancelled" || by != "suppression" || lastError != "suppressed: a@example.com (bounced)" || errs != 0 || !finished {
		t.Fatalf("cancelled: %s by %s, %q, %d error entries, finished %v, %v", st, by, lastError, errs, finished, err)
	}
	var due time.Duration
	var last *string
	err = pool.QueryRow(ctx, `select state, attempts, jsonb_array_length(errors), last_error,
		extract(epoch from available_at - now())::bigint * 1000000000 from symphony.messages where id = $1`, msgs[1].ID).
		Scan(&st, &attempts, &errs, &last, &due)
	if err != nil || st != "pending" || attempts != 0 || errs != 0 || last != nil || due < 59*time.Minute || due > time.Hour {
		t.Fatalf("deferred: %s, attempts %d, %d error entries, last_error %v, due in %s, %v", st, attempts, errs, last, due, err)
	}
	// A deferral spends no attempt: claimed again, it is attempt 1 again.
	if _, err := pool.Exec(ctx, `update symphony.messages set available_at = now() where id = $1`, msgs[1].ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.Claim(ctx, "email", 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].Attempt != 1 {
		t.Fatalf("reclaimed %+v, %v", again, err)
	}
}
