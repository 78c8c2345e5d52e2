package app_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A claimed row that cannot be read never takes its batch down: every other
// message of the claim is sent once, and the bad one ends dead alone, saying
// why, without a provider call (DESIGN invariant 10). The row is forced
// unreadable (created_at = 'infinity', which pgx cannot scan into a time.Time)
// past the check that now refuses it, as a row from before that check would be.
func TestUnreadableRow_EndsDeadAloneAndTheClaimIsSent(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `alter table symphony.messages drop constraint messages_created_at_finite`)
	ids := make([]int64, 6)
	for i := range ids {
		ids[i] = dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	}
	bad := ids[2]
	exec(t, db.Pool, `update symphony.messages set created_at = 'infinity' where id = $1`, bad)

	fake := newFake(nil)
	cfg := testConfig(db)
	cfg.Queues = map[string]int{"email": 8}
	start(t, cfg, fake, nil)
	waitFor(t, 10*time.Second, "every message to finish", func() bool {
		return countState(t, db.Pool, "succeeded")+countState(t, db.Pool, "dead") == len(ids)
	})

	for _, id := range ids {
		var st, code string
		var lastError *string
		if err := db.Pool.QueryRow(context.Background(), `select state, last_error, coalesce(errors -> -1 ->> 'code', '')
			from symphony.messages where id = $1`, id).Scan(&st, &lastError, &code); err != nil {
			t.Fatal(err)
		}
		switch {
		case id == bad:
			if st != "dead" || code != "unreadable" || lastError == nil || !strings.Contains(*lastError, "cannot be read") {
				t.Errorf("unreadable message %d: %s, code %q, last_error %v; want dead, code unreadable, saying it cannot be read",
					id, st, code, lastError)
			}
			if n := fake.callsFor(id); n != 0 {
				t.Errorf("unreadable message %d reached the provider %d times", id, n)
			}
		default:
			if st != "succeeded" || fake.callsFor(id) != 1 {
				t.Errorf("message %d of the same claim: %s after %d calls; want succeeded after 1", id, st, fake.callsFor(id))
			}
		}
	}
}
