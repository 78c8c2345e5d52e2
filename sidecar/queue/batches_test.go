package queue_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// batchesOf is a queue.Fit for requests of up to size messages each.
func batchesOf(size int) queue.Fit {
	return func(msgs []msgtype.Message, budget int) (int, int) {
		keep := min(len(msgs), budget*size)
		return keep, (keep + size - 1) / size
	}
}

func tokens(t *testing.T, pool *pgxpool.Pool) float64 {
	t.Helper()
	var n float64
	if err := pool.QueryRow(context.Background(), `select tokens from symphony.rate_limits where name = 'email'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A token of the rate-limit bucket is a provider request, not a message: two
// tokens claim two batches' worth of messages.
func TestStore_ClaimPlannedTakesATokenPerRequest(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 250)
	// Two tokens, and a rate slow enough that none is added meanwhile.
	mustExec(t, pool, `update symphony.rate_limits set per_second = 0.0001, burst = 10, tokens = 2, refilled_at = clock_timestamp() where name = 'email'`)
	s := queue.NewStore(pool, "w1")
	msgs, _, err := s.ClaimPlanned(ctx, "email", "email", 500, 5, 100, time.Minute, batchesOf(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 200 {
		t.Fatalf("claimed %d messages with 2 tokens for requests of 100, want 200", len(msgs))
	}
	if left := tokens(t, pool); left > 0.01 {
		t.Fatalf("%.2f tokens left, want none", left)
	}
}

// What does not fit in the requests granted is handed back in the claim's
// transaction (pending, its attempt not spent), and so are unused tokens.
func TestStore_ClaimPlannedHandsBackWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 250)
	mustExec(t, pool, `update symphony.rate_limits set per_second = 0.0001, burst = 10, tokens = 3, refilled_at = clock_timestamp() where name = 'email'`)
	s := queue.NewStore(pool, "w1")
	// Claimed 100 a request, but only 40 fit in one (they are bigger than
	// thought), and only one request is used: 40 kept, 260 - 40 pending.
	fit := func(msgs []msgtype.Message, budget int) (int, int) { return min(len(msgs), 40), 1 }
	msgs, _, err := s.ClaimPlanned(ctx, "email", "email", 500, 3, 100, time.Minute, fit)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 40 {
		t.Fatalf("kept %d, want 40", len(msgs))
	}
	var pending, spent int
	if err := pool.QueryRow(ctx, `select count(*) filter (where state = 'pending'), count(*) filter (where state = 'pending' and attempts > 0)
		from symphony.messages`).Scan(&pending, &spent); err != nil {
		t.Fatal(err)
	}
	if pending != 210 || spent != 0 {
		t.Fatalf("%d pending (%d with an attempt spent), want 210 and none", pending, spent)
	}
	if left := tokens(t, pool); left < 1.99 || left > 2.01 {
		t.Fatalf("%.2f tokens left, want the 2 unused given back", left)
	}
}

// A batch is recorded with its members in order and a key ending in its id;
// a retry finds it unfinished until it is given an outcome, can repeat it
// only while it is, and CompleteBatch writes results and outcome together.
func TestStore_BatchRecordLifecycle(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 3)
	s := queue.NewStore(pool, "w1")
	msgs, err := s.Claim(ctx, "email", 3, time.Minute)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("claim: %d, %v", len(msgs), err)
	}
	ids := []int64{msgs[2].ID, msgs[0].ID, msgs[1].ID}
	b, err := s.RecordBatch(ctx, "resend", "email", "symphony-x-batch-", ids)
	if err != nil {
		t.Fatal(err)
	}
	if want := "symphony-x-batch-" + strconv.FormatInt(b.ID, 10); b.Key != want {
		t.Fatalf("key %q, want %q", b.Key, want)
	}
	open, err := s.UnfinishedBatches(ctx, []int64{msgs[0].ID})
	if err != nil || len(open) != 1 || open[0].ID != b.ID || !open[0].Called || open[0].Attempts != 1 ||
		len(open[0].MessageIDs) != 3 || open[0].MessageIDs[0] != msgs[2].ID {
		t.Fatalf("unfinished: %+v, %v", open, err)
	}
	if n, err := s.RepeatBatch(ctx, b.ID); err != nil || n != 2 {
		t.Fatalf("repeat: %d, %v", n, err)
	}
	outs := make([]queue.Outcome, 3)
	for i, m := range msgs {
		outs[i] = queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Succeeded, Result: []byte(`{"provider":"resend"}`)}
	}
	written, err := s.CompleteBatch(ctx, b.ID, queue.BatchAnswered, outs)
	if err != nil || len(written) != 3 {
		t.Fatalf("complete: %v, %v", written, err)
	}
	if open, err := s.UnfinishedBatches(ctx, ids); err != nil || len(open) != 0 {
		t.Fatalf("after its outcome: %+v, %v", open, err)
	}
	if _, err := s.RepeatBatch(ctx, b.ID); err != queue.ErrBatchFinished {
		t.Fatalf("repeating an answered batch: %v", err)
	}
	if ok, err := s.FinishBatch(ctx, b.ID, queue.BatchAbandoned); err != nil || ok {
		t.Fatalf("abandoning an answered batch: %v, %v", ok, err)
	}
}
