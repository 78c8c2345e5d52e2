package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
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
	dur := fs.Duration("for", 10*time.Second, "how long each single-row phase runs")
	bulk := fs.Int("bulk", 200000, "messages in the bulk phase (statements of 10,000 rows)")
	_ = fs.Parse(args)
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	with, err := singles(ctx, pool, *clients, *dur)
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `insert into symphony.listeners (queue, worker_id) values ('email', 'bench-idle-sidecar')`); err != nil {
		return err
	}
	listened, err := singles(ctx, pool, *clients, *dur)
	if _, err2 := pool.Exec(context.WithoutCancel(ctx), `delete from symphony.listeners where worker_id = 'bench-idle-sidecar'`); err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	// The NOTIFY trigger off, in this benchmark database only.
	if _, err := pool.Exec(ctx, `alter table symphony.messages disable trigger messages_notify`); err != nil {
		return err
	}
	without, err := singles(ctx, pool, *clients, *dur)
	if _, err2 := pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages enable trigger messages_notify`); err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	// The deployable way to drop the NOTIFY: sidecars woken by the WAL feed
	// (SYMPHONY_WAKEUP=wal) and the inserts' NOTIFY turned off by setting.
	walMode, err := withSetting(ctx, *db, "symphony.notify_inserts", "off", func(p *pgxpool.Pool) (float64, error) {
		return singles(ctx, p, *clients, *dur)
	})
	if err != nil {
		return err
	}
	note := fmt.Sprintf("%d clients, one autocommit INSERT of one email.send per transaction, %s", *clients, *dur)
	emit(figure{Name: "dispatch_single_notify", Value: with, Unit: "msgs/s", Note: note + ", NOTIFY trigger on"})
	emit(figure{Name: "dispatch_single_nonotify", Value: without, Unit: "msgs/s", Note: note + ", NOTIFY trigger disabled"})
	emit(figure{Name: "notify_overhead", Value: 100 * (1 - with/without), Unit: "%", Note: "single-row dispatch throughput lost to the NOTIFY trigger, no sidecar sleeping on the queue (busy sidecars poll)"})
	emit(figure{Name: "dispatch_single_listened", Value: listened, Unit: "msgs/s", Note: note + ", an idle sidecar listening: every dispatch notifies"})
	emit(figure{Name: "notify_overhead_listened", Value: 100 * (1 - listened/without), Unit: "%", Note: "single-row dispatch throughput lost when every dispatch notifies (worst case)"})
	emit(figure{Name: "dispatch_single_walmode", Value: walMode, Unit: "msgs/s", Note: note + ", symphony.notify_inserts = off (as with SYMPHONY_WAKEUP=wal)"})
	emit(figure{Name: "notify_overhead_walmode", Value: 100 * (1 - walMode/without), Unit: "%",
		Note: "single-row dispatch throughput lost with the NOTIFY turned off by setting (the trigger still runs), against the trigger disabled"})

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

// singles runs clients loops of single-row inserts for d and returns rows/s.
func singles(ctx context.Context, pool *pgxpool.Pool, clients int, d time.Duration) (float64, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
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
	began := time.Now()
	wg.Wait()
	return float64(n.Load()) / time.Since(began).Seconds(), firstErr
}

// withSetting runs f over a fresh pool whose sessions have name = value (set
// for the database, then reset).
func withSetting(ctx context.Context, url, name, value string, f func(*pgxpool.Pool) (float64, error)) (float64, error) {
	admin, err := connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	var db string
	if err := admin.QueryRow(ctx, `select current_database()`).Scan(&db); err != nil {
		return 0, err
	}
	ident := pgx.Identifier{db}.Sanitize()
	if _, err := admin.Exec(ctx, fmt.Sprintf(`alter database %s set %s = '%s'`, ident, name, value)); err != nil {
		return 0, err
	}
	defer admin.Exec(context.WithoutCancel(ctx), fmt.Sprintf(`alter database %s reset %s`, ident, name))
	pool, err := connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	return f(pool)
}
