package queue_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// Sidecars starting and stopping to listen at the same time never leave
// symphony.listening at 0 while one of them listens (its wake-ups would be
// lost), and the last one to stop sets it back to 0.
func TestSetListening_FlagNeverHidesAListener(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	const sidecars, turns = 8, 150
	var wg sync.WaitGroup
	for i := range sidecars {
		s := queue.NewStore(pool, fmt.Sprintf("w%d", i))
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for range turns {
				q := []string{"email", "sms"}[r.IntN(2)]
				if err := s.SetListening(ctx, q, r.IntN(2) == 0); err != nil {
					t.Error(err)
					return
				}
			}
			// Each ends listening on one queue or none.
			_ = s.SetListening(ctx, "sms", false)
			if err := s.SetListening(ctx, "email", i%2 == 0 && i > 0); err != nil {
				t.Error(err)
			}
		})
	}
	// Meanwhile: whenever a listener row is committed, the flag says so.
	stop := make(chan struct{})
	var checks, violations int
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			rows, flag, err := look(ctx, pool)
			if err != nil {
				t.Error(err)
				return
			}
			checks++
			if rows && flag == 0 {
				violations++
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-checked
	if violations > 0 {
		t.Fatalf("%d of %d looks found a listener with the flag at 0", violations, checks)
	}
	flag := func() int64 {
		var v int64
		if err := pool.QueryRow(ctx, `select pg_sequence_last_value('symphony.listening')`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if f := flag(); f != 1 {
		t.Fatalf("three sidecars still listen; flag %d", f)
	}
	for i := range sidecars {
		if err := queue.NewStore(pool, fmt.Sprintf("w%d", i)).SetListening(ctx, "email", false); err != nil {
			t.Fatal(err)
		}
	}
	if f := flag(); f != 0 {
		t.Fatalf("nobody listens any more; flag %d", f)
	}
	t.Logf("%d looks while %d sidecars changed %d times each", checks, sidecars, turns)
}

// look reports whether a listener row exists that nobody is removing, and
// then the flag. The rows it finds are share-locked until it has read the
// flag, so none of them can be removed (and the flag lowered on its account)
// in between; rows being removed are skipped.
func look(ctx context.Context, pool *pgxpool.Pool) (rows bool, flag int64, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, 0, err
	}
	defer tx.Rollback(ctx)
	if err := tx.QueryRow(ctx, `select exists (select 1 from symphony.listeners for share skip locked)`).Scan(&rows); err != nil {
		return false, 0, err
	}
	if err := tx.QueryRow(ctx, `select pg_sequence_last_value('symphony.listening')`).Scan(&flag); err != nil {
		return false, 0, err
	}
	return rows, flag, nil
}

// The interleaving that would lose a wake-up, forced: a sidecar starts
// listening (its row not committed yet) while the last other listener stops.
// The stop waits for the start to commit, sees its row, and leaves the flag
// at 1; without that turn-taking it would see no row and set 0 under the
// newcomer's feet.
func TestSetListening_StopWaitsForAStartInFlight(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	if err := queue.NewStore(pool, "old").SetListening(ctx, "email", true); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `select symphony.listen('email', 'new')`); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- queue.NewStore(pool, "old").SetListening(ctx, "email", false) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for range 250 {
			if ok() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("timed out waiting until %s", what)
	}
	waitFor("the stop waits on the lock", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `select count(*) from pg_stat_activity
			where wait_event_type = 'Lock' and wait_event = 'advisory' and query like '%unlisten%'`).Scan(&n)
		return n == 1
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	rows, flag, err := look(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !rows || flag != 1 {
		t.Fatalf("after the new listener committed and the old one stopped: row %v, flag %d; want a row and 1", rows, flag)
	}
}
