package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// row is what the suite reads back of one message.
type row struct {
	key          string // "chaos <i>": the subject or body the provider saw
	state        string
	attempts     int
	providerID   string
	possibleDup  bool
	leaseExpired int
	interrupted  int
	maybeSent    int
	lastError    string
}

type columnRows struct {
	Column
	rows        []row
	deadReasons []string
}

// tallyRows reads every dispatched message back, by the id its dispatch
// returned, and counts states and attempts per channel.
func tallyRows(ctx context.Context, t *testing.T, pool *pgxpool.Pool, ids []int64) (email, sms columnRows) {
	t.Helper()
	rows, err := pool.Query(ctx, `
		select id, kind, state, attempts,
		       coalesce(result->>'provider_message_id', ''),
		       coalesce((result->>'possible_duplicate')::boolean, false),
		       (select count(*) from jsonb_array_elements(errors) e where e->>'code' = 'lease_expired')::int,
		       (select count(*) from jsonb_array_elements(errors) e where e->>'code' = 'interrupted')::int,
		       (select count(*) from jsonb_array_elements(errors) e where (e->>'maybe_sent')::boolean)::int,
		       coalesce(last_error, '')
		  from symphony.messages where id = any($1)`, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	found := map[int64]row{}
	kinds := map[int64]string{}
	for rows.Next() {
		var id int64
		var kind string
		var r row
		if err := rows.Scan(&id, &kind, &r.state, &r.attempts, &r.providerID, &r.possibleDup,
			&r.leaseExpired, &r.interrupted, &r.maybeSent, &r.lastError); err != nil {
			t.Fatal(err)
		}
		found[id], kinds[id] = r, kind
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		c := &email
		if i%2 == 1 {
			c = &sms
		}
		c.Dispatched++
		r, ok := found[id]
		if !ok || id == 0 {
			c.Lost++
			continue
		}
		r.key = fmt.Sprintf("chaos %d", i)
		c.rows = append(c.rows, r)
		switch r.state {
		case "succeeded":
			c.Succeeded++
		case "dead":
			c.Dead++
			c.deadReasons = append(c.deadReasons, fmt.Sprintf("message %d: %s", id, r.lastError))
			// Every fault injected is transient, so the only way to die is to
			// run out of attempts (the last one possibly to an expired lease).
			if !strings.HasPrefix(r.lastError, "gave up after") && !strings.HasPrefix(r.lastError, "lease of") {
				t.Errorf("message %d is dead for an unexpected reason: %q", id, r.lastError)
			}
		case "cancelled":
			c.Cancelled++
		default:
			c.NotFinal++
		}
		c.Attempts += r.attempts
		c.LeaseExpired += r.leaseExpired
		c.Interrupted += r.interrupted
		c.MaybeSent += r.maybeSent
		if r.possibleDup {
			c.PossibleDuplicate++
		}
	}
	return email, sms
}

// checkProvider compares the rows with what the provider accepted (by key):
// duplicates, whether each is flagged in its row, and whether every success
// names a message the provider really issued.
func checkProvider(c *columnRows, rows []row, accepted map[string][]string) {
	for _, ids := range accepted {
		c.Accepted += len(ids)
	}
	for _, r := range rows {
		got := accepted[r.key]
		if r.state == "succeeded" && !slices.Contains(got, r.providerID) {
			c.PhantomSuccess++
		}
		if len(got) <= 1 {
			continue
		}
		c.Duplicates += len(got) - 1
		// At-least-once, never silently more: a success says possible_duplicate;
		// a message that died anyway has an attempt marked maybe_sent.
		flagged := (r.state == "succeeded" && r.possibleDup) || (r.state != "succeeded" && r.maybeSent > 0)
		if !flagged {
			c.Unflagged += len(got) - 1
		}
	}
}
