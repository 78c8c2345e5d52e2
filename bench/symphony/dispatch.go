package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

const singleRow = `insert into symphony.messages (kind, payload) values ('email.send',
	jsonb_build_object('to', 'user@example.com', 'from', 'bench@example.com', 'subject', 'hi', 'text', 'hello'))`

// runDispatch measures what dispatching costs the application: no sidecar
// runs, so this is the insert path alone (validation trigger, NOTIFY trigger).
// Dispatches NOTIFY only queues a sidecar sleeps on (symphony.listeners); a
// sidecar consuming a stream polls instead. "NOTIFY trigger on" is therefore
// the steady state under load, and a listener row planted for the phase
// "an idle sidecar listening" is the worst case, where every dispatch notifies.
func runDispatch(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	clients := fs.Int("clients", 8, "concurrent single-row dispatchers")
	dur := fs.Duration("for", 10*time.Second, "how long each single-row setting runs in all")
	rounds := fs.Int("rounds", 20, "the settings take turns this many times, each for -for / -rounds")
	bulk := fs.Int("bulk", 200000, "messages in the bulk phase (statements of 10,000 rows)")
	_ = fs.Parse(args)
	if *rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1, not %d", *rounds)
	}
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	// No sidecar runs during this benchmark, so none sleeps on a queue. The
	// sidecars that the batching benchmark kills (-9) leave their listener rows
	// behind, and every dispatch notifies for them until they are two minutes
	// stale and the tick drops them; pg_cron does not run the tick in the
	// benchmark database. Run 14 measured 53 % "overhead" that way, the cost of
	// notifying a sleeping sidecar, where a deployment pays it only in the two
	// minutes after a crash.
	if _, err := pool.Exec(ctx, `delete from symphony.listeners; select symphony.sync_listening()`); err != nil {
		return fmt.Errorf("error clearing the listeners of stopped sidecars: %w", err)
	}
	// The deployable way to drop the NOTIFY: sidecars woken by the WAL feed
	// (SYMPHONY_WAKEUP=wal) and the inserts' NOTIFY turned off by setting, here
	// for every session of a second pool.
	walPool, err := connectWith(ctx, *db, map[string]string{"symphony.notify_inserts": "off"})
	if err != nil {
		return err
	}
	defer walPool.Close()
	exec := func(sql string) func() error {
		return func() error { _, err := pool.Exec(context.WithoutCancel(ctx), sql); return err }
	}
	// The settings take turns, a short phase each, so that a slower stretch of
	// a shared machine, and the table growing, fall on all of them alike: run
	// one after the other, whichever came last paid for both.
	phases := []*dispatchPhase{
		{name: "notify", pool: pool},
		{name: "listened", pool: pool,
			setup:    exec(`select symphony.listen('email', 'bench-idle-sidecar')`),
			teardown: exec(`select symphony.unlisten('email', 'bench-idle-sidecar')`)},
		// The NOTIFY trigger off, in this benchmark database only.
		{name: "nonotify", pool: pool,
			setup:    exec(`alter table symphony.messages disable trigger messages_notify`),
			teardown: exec(`alter table symphony.messages enable trigger messages_notify`)},
		{name: "walmode", pool: walPool},
		// The baseline measured a second time, as a setting of its own: how far
		// two measurements of the same thing land apart is the noise floor the
		// overheads above are read against.
		{name: "nonotify_again", pool: pool,
			setup:    exec(`alter table symphony.messages disable trigger messages_notify`),
			teardown: exec(`alter table symphony.messages enable trigger messages_notify`)},
	}
	each := *dur / time.Duration(*rounds)
	for r := range *rounds {
		// Each round starts with the next setting, so that none is always the
		// one right after another's setup (or the checkpoint's aftermath).
		for k := range phases {
			ph := phases[(r+k)%len(phases)]
			if err := ph.run(ctx, *clients, each); err != nil {
				return fmt.Errorf("dispatch phase %s: %w", ph.name, err)
			}
		}
	}
	rate := map[string]float64{}
	for _, ph := range phases {
		rate[ph.name] = float64(ph.n) / ph.took.Seconds()
	}
	with, listened, without, walMode := rate["notify"], rate["listened"], rate["nonotify"], rate["walmode"]
	again := rate["nonotify_again"]
	note := fmt.Sprintf("%d clients, one autocommit INSERT of one email.send per transaction, %s in %d turns of %s taken in turn with the other settings",
		*clients, *dur, *rounds, each)
	emit(figure{Name: "dispatch_single_notify", Value: with, Unit: "msgs/s", Note: note + ", NOTIFY trigger on"})
	emit(figure{Name: "dispatch_single_nonotify", Value: without, Unit: "msgs/s", Note: note + ", NOTIFY trigger disabled"})
	emit(figure{Name: "notify_overhead", Value: 100 * (1 - with/without), Unit: "%", Note: "single-row dispatch throughput lost to the NOTIFY trigger, no sidecar sleeping on the queue (busy sidecars poll)"})
	emit(figure{Name: "dispatch_single_listened", Value: listened, Unit: "msgs/s", Note: note + ", an idle sidecar listening: every dispatch notifies"})
	emit(figure{Name: "notify_overhead_listened", Value: 100 * (1 - listened/without), Unit: "%", Note: "single-row dispatch throughput lost when every dispatch notifies (worst case)"})
	emit(figure{Name: "dispatch_single_walmode", Value: walMode, Unit: "msgs/s", Note: note + ", symphony.notify_inserts = off (as with SYMPHONY_WAKEUP=wal)"})
	emit(figure{Name: "notify_overhead_walmode", Value: 100 * (1 - walMode/without), Unit: "%",
		Note: "single-row dispatch throughput lost with the NOTIFY turned off by setting (the trigger still runs), against the trigger disabled"})
	emit(figure{Name: "dispatch_aa_spread", Value: 100 * math.Abs(1-again/without), Unit: "%",
		Note: fmt.Sprintf("the trigger-disabled setting measured twice, in turns like the others: %.0f and %.0f msgs/s; overheads within this are noise", without, again)})

	if err := reset(ctx, pool); err != nil {
		return err
	}
	began := time.Now()
	for left := *bulk; left > 0; left -= 10000 {
		if _, err := pool.Exec(ctx, emailRows, min(left, 10000)); err != nil {
			return err
		}
	}
	emit(figure{Name: "dispatch_bulk", Value: float64(*bulk) / time.Since(began).Seconds(), Unit: "msgs/s",
		Note: "one client, INSERT … SELECT of 10,000 email.send rows per statement (validation and NOTIFY triggers on)"})
	return reset(ctx, pool)
}

// dispatchPhase is one setting of the single-row dispatch benchmark, with
// what its turns have counted so far.
type dispatchPhase struct {
	name            string
	pool            *pgxpool.Pool
	setup, teardown func() error
	n               int64
	took            time.Duration
}

// run gives the phase one turn of d: its setting on, clients loops of
// single-row inserts, its setting off.
func (ph *dispatchPhase) run(ctx context.Context, clients int, d time.Duration) error {
	if ph.setup != nil {
		if err := ph.setup(); err != nil {
			return err
		}
	}
	n, took, err := singles(ctx, ph.pool, clients, d)
	if ph.teardown != nil {
		if err2 := ph.teardown(); err == nil {
			err = err2
		}
	}
	ph.n += n
	ph.took += took
	return err
}

// singles runs clients loops of single-row inserts for d and returns how many
// rows they inserted in how long.
func singles(ctx context.Context, pool *pgxpool.Pool, clients int, d time.Duration) (int64, time.Duration, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	began := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := pool.Exec(ctx, singleRow); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), time.Since(began), firstErr
}
