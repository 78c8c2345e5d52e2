package providerevents_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/providerevents"
)

// Outcomes come back in the caller's order, and two requests whose events
// touch the same messages in opposite orders never deadlock: the store sorts
// each batch by message before locking.
func TestStore_RecordOrderAndConcurrency(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	const n = 20
	if _, err := db.Pool.Exec(ctx, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'u' || g || '@example.com', 'from', 'me@example.com', 'subject', 's', 'text', 't')
		  from generate_series(1, $1) g`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update symphony.messages set state = 'succeeded', finished_at = now(),
		result = jsonb_build_object('provider', 'sendgrid', 'provider_message_id', 'sg' || id)`); err != nil {
		t.Fatal(err)
	}
	var first int64
	_ = db.Pool.QueryRow(ctx, `select min(id) from symphony.messages`).Scan(&first)
	store := providerevents.NewStore(db.Pool)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	batch := func(round int, status string, reverse bool) []providerevents.Event {
		var evs []providerevents.Event
		for i := range n {
			id := fmt.Sprintf("sg%d", first+int64(i))
			evs = append(evs, providerevents.Event{Provider: "sendgrid", MessageID: id, ProviderEvent: status, Status: status,
				Recipient: fmt.Sprintf("u%d@example.com", i+1), At: at.Add(time.Duration(round) * time.Second),
				Key: fmt.Sprintf("%s|%s|%d", id, status, round)})
		}
		if reverse {
			slices.Reverse(evs)
		}
		return evs
	}

	evs := append(batch(0, providerevents.Delivered, false), providerevents.Event{Provider: "sendgrid", MessageID: "nobody",
		Status: providerevents.Bounced, Recipient: "x@example.com", At: at, Key: "nobody"})
	evs = append([]providerevents.Event{evs[n], evs[n-1]}, evs[:n-1]...) // unknown first, then the last message, then the rest
	out, err := store.Record(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != providerevents.Unknown || out[1] != providerevents.Recorded || len(out) != n+1 {
		t.Fatalf("outcomes %v: want unknown first, then recorded, in the caller's order", out)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for round := 1; round <= 20; round++ {
		for _, reverse := range []bool{false, true} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status := providerevents.Delayed
				if reverse {
					status = providerevents.Complained
				}
				if _, err := store.Record(ctx, batch(round, status, reverse)); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent batches: %v", err)
	}
	var complained int
	_ = db.Pool.QueryRow(ctx, `select count(*) from symphony.messages where result->'delivery'->>'status' = 'complained'`).Scan(&complained)
	if complained != n {
		t.Fatalf("%d messages say complained, want %d (the most final status wins)", complained, n)
	}
}
