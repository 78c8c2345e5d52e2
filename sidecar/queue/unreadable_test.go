package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// unreadableClaim dispatches n emails and makes the second unreadable: a
// created_at of 'infinity' cannot be scanned into a time.Time. The schema
// refuses such a value now (a check), so the check is dropped first, standing in
// for a row written before it existed or a value a later driver cannot read.
func unreadableClaim(t *testing.T, pool *pgxpool.Pool, n int) (bad int64) {
	t.Helper()
	mustExec(t, pool, `alter table symphony.messages drop constraint messages_created_at_finite`)
	dispatch(t, pool, n)
	if err := pool.QueryRow(context.Background(), `update symphony.messages set created_at = 'infinity'
		where id = (select id from symphony.messages order by id offset 1 limit 1) returning id`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	return bad
}

// One row that cannot be read is dealt with alone (DESIGN invariant 10): the
// claim returns every other message, and the bad one ends dead, saying why,
// rather than the whole batch being stranded in processing.
func TestStore_ClaimEndsAnUnreadableRowAlone(t *testing.T) {
	t.Parallel()
	for _, limited := range []bool{false, true} {
		name := map[bool]string{false: "Claim", true: "ClaimLimited"}[limited]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool, ctx := setup(t)
			bad := unreadableClaim(t, pool, 4)
			s := queue.NewStore(pool, "w1")
			var msgs []msgtype.Message
			var err error
			if limited {
				mustExec(t, pool, `update symphony.rate_limits set per_second = 100, burst = 10 where name = 'email'`)
				msgs, _, err = s.ClaimLimited(ctx, "email", "email", 10, time.Minute)
			} else {
				msgs, err = s.Claim(ctx, "email", 10, time.Minute)
			}
			if err != nil {
				t.Fatalf("claim failed for every message because of one: %v", err)
			}
			if len(msgs) != 3 {
				t.Fatalf("claimed %d readable messages, want 3", len(msgs))
			}
			for _, m := range msgs {
				if m.ID == bad {
					t.Fatalf("the unreadable message %d was handed out", bad)
				}
				if m.CreatedAt.IsZero() || len(m.Payload) == 0 {
					t.Errorf("message %d is not fully read: %+v", m.ID, m)
				}
			}
			st, attempts, lastError := state(t, pool, bad)
			if st != "dead" || attempts != 1 || lastError == nil ||
				!strings.Contains(*lastError, "cannot be read") || !strings.Contains(*lastError, "created_at") {
				t.Errorf("unreadable message: state %s, attempts %d, last_error %v; want dead after 1 attempt, naming created_at",
					st, attempts, deref(lastError))
			}
			// The others are leased to this worker, and complete as usual.
			outcomes := make([]queue.Outcome, len(msgs))
			for i, m := range msgs {
				outcomes[i] = queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Succeeded}
			}
			if written, err := s.Complete(ctx, outcomes); err != nil || len(written) != 3 {
				t.Fatalf("complete: %v, wrote %d of 3", err, len(written))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
