package queue_test

import (
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// ClaimLimited takes its tokens, claims and gives back the unused ones in one
// statement: the tokens bound a claim (and a claim of nothing says how long
// until the next), the backlog bounds another (its unused tokens go back, and
// it does not wait).
func TestStore_ClaimLimitedTakesAndGivesTokensInItsStatement(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 10)
	s := queue.NewStore(pool, "w1")
	// Three tokens, and a rate slow enough that none is added meanwhile.
	mustExec(t, pool, `update symphony.rate_limits set per_second = 0.0001, burst = 10, tokens = 3, refilled_at = clock_timestamp() where name = 'email'`)

	msgs, wait, err := s.ClaimLimited(ctx, "email", "email", 8, time.Minute)
	if err != nil || len(msgs) != 3 || wait != 0 {
		t.Fatalf("with 3 tokens for 8: %d messages, wait %v, error %v; want 3, no wait", len(msgs), wait, err)
	}
	if left := tokens(t, pool); left > 0.01 {
		t.Fatalf("%.2f tokens left, want none", left)
	}
	msgs, wait, err = s.ClaimLimited(ctx, "email", "email", 8, time.Minute)
	if err != nil || len(msgs) != 0 || wait < time.Hour {
		t.Fatalf("with no token: %d messages, wait %v, error %v; want none and the next token's wait (hours at this rate)", len(msgs), wait, err)
	}

	mustExec(t, pool, `update symphony.rate_limits set tokens = 10, refilled_at = clock_timestamp() where name = 'email'`)
	msgs, wait, err = s.ClaimLimited(ctx, "email", "email", 10, time.Minute)
	if err != nil || len(msgs) != 7 || wait != 0 {
		t.Fatalf("7 pending, 10 tokens: %d messages, wait %v, error %v; want 7, no wait", len(msgs), wait, err)
	}
	if left := tokens(t, pool); left < 2.99 || left > 3.01 {
		t.Fatalf("%.2f tokens left, want the 3 unused given back", left)
	}
	for _, m := range msgs {
		if m.ID == 0 || m.Attempt != 1 || m.Kind != "email.send" {
			t.Fatalf("claimed message %+v", m)
		}
	}
	var processing int
	if err := pool.QueryRow(ctx, `select count(*) from symphony.messages where state = 'processing' and attempts = 1`).Scan(&processing); err != nil || processing != 10 {
		t.Fatalf("%d processing after one attempt (error %v), want all 10 claimed once", processing, err)
	}
}
