package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// Wake latency is measured through the loopback Resend fake, which stamps each
// request as it arrives: latency = that stamp − the moment the probe's INSERT
// (autocommit) returned, both on this process's clock.
func runLatency(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	bin := fs.String("bin", "bin/symphony", "the sidecar binary")
	probes := fs.Int("probes", 300, "probe messages per phase")
	rate := fs.Int("load", 2000, "background dispatch rate under load, messages/s")
	wakeup := fs.String("wakeup", "notify", "how the sidecar is woken: notify, or wal (the WAL feed, with the inserts' NOTIFY off by setting)")
	stated := fs.Int("stated", 0, "requests/s the Resend fake allows and states in its ratelimit-* headers, as Resend does (0: none, no limit)")
	_ = fs.Parse(args)
	prefix, env := "wake", map[string]string{}
	if *wakeup == "wal" {
		prefix, env["SYMPHONY_WAKEUP"] = "wal_wake", "wal"
	}
	if *stated > 0 {
		prefix = "limited_" + prefix
	}
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	if err := setMaster(ctx, pool, true); err != nil {
		return err
	}
	// The limit learned here (or earlier) would bind the benchmarks after it.
	if err := forgetLearned(ctx, pool); err != nil {
		return err
	}
	defer func() { _ = forgetLearned(context.WithoutCancel(ctx), pool) }()
	if *wakeup == "wal" {
		// Wake-ups come from the WAL alone: the inserts send no NOTIFY.
		if err := setDatabase(ctx, pool, "symphony.notify_inserts", "off"); err != nil {
			return err
		}
		defer func() { _ = setDatabase(context.WithoutCancel(ctx), pool, "symphony.notify_inserts", "on") }()
		pool.Reset() // new connections pick the setting up
	}
	// With a stated limit, the sidecar learns it from the first answer and
	// every claim then takes its tokens (claim_limited.sql): the way a
	// sidecar runs against Resend or SendGrid, whose answers always state it.
	fake := resendfake.New(resendfake.Options{Pace: fakehttp.Pace{PerSecond: *stated}})
	defer fake.Close()
	env["SYMPHONY_EMAIL_PROVIDER"] = "resend"
	env["RESEND_API_KEY"] = resendfake.DefaultAPIKey
	env["SYMPHONY_RESEND_URL"] = fake.URL()
	sc, err := startSidecar(ctx, *bin, *db, env)
	if err != nil {
		return err
	}
	defer sc.stop()
	time.Sleep(500 * time.Millisecond) // let start-up claims and the first poll pass
	if *wakeup == "wal" {
		time.Sleep(2 * time.Second) // the temporary slot waits for running transactions
	}

	idle, err := probe(ctx, pool, fake, *probes)
	if err != nil {
		return err
	}
	how := ""
	if *wakeup == "wal" {
		how = ", woken by the WAL feed with NOTIFY off"
	}
	if *stated > 0 {
		how += fmt.Sprintf(", the fake stating a limit of %d requests/s in its headers (learned: claims take tokens)", *stated)
	}
	report(prefix+"_idle", idle, "one message at a time into an idle sidecar (Resend fake)"+how)

	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	loaded := 0
	go func() { defer wg.Done(); loaded = backgroundLoad(lctx, pool, *rate) }()
	time.Sleep(time.Second)
	busy, err := probe(ctx, pool, fake, *probes)
	stopLoad()
	wg.Wait()
	if err != nil {
		return err
	}
	report(prefix+"_load", busy, fmt.Sprintf("probes among a background dispatch of %d msgs/s in batches every 10 ms (%d sent)%s", *rate, loaded, how))
	return nil
}

// setDatabase sets a configuration default for the benchmark database.
func setDatabase(ctx context.Context, pool *pgxpool.Pool, name, value string) error {
	var db string
	if err := pool.QueryRow(ctx, `select current_database()`).Scan(&db); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, fmt.Sprintf(`alter database %s set %s = '%s'`, pgx.Identifier{db}.Sanitize(), name, value))
	return err
}

func report(name string, lat []time.Duration, note string) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	note = fmt.Sprintf("%s; %d probes", note, len(lat))
	emit(figure{Name: name + "_p50", Value: q(0.50), Unit: "ms", Note: note})
	emit(figure{Name: name + "_p99", Value: q(0.99), Unit: "ms", Note: note})
}

// probe inserts count messages one at a time, 5–25 ms apart, and returns each
// one's latency to its provider request.
func probe(ctx context.Context, pool *pgxpool.Pool, fake *resendfake.Server, count int) ([]time.Duration, error) {
	committed := make(map[int64]time.Time, count)
	for i := 0; i < count; i++ {
		var id int64
		err := pool.QueryRow(ctx, `insert into symphony.messages (kind, payload) values ('email.send',
			jsonb_build_object('to', 'probe@example.com', 'from', 'bench@example.com', 'subject', 'probe', 'text', 'hi'))
			returning id`).Scan(&id)
		if err != nil {
			return nil, err
		}
		committed[id] = time.Now()
		time.Sleep(5*time.Millisecond + rand.N(20*time.Millisecond))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		lat := make([]time.Duration, 0, count)
		for _, r := range fake.Requests() {
			key := r.Header.Get("Idempotency-Key")
			id, err := strconv.ParseInt(key[strings.LastIndexByte(key, '-')+1:], 10, 64)
			if err != nil {
				continue
			}
			if at, ok := committed[id]; ok {
				lat = append(lat, r.At.Sub(at))
			}
		}
		if len(lat) >= count {
			return lat, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d probes reached the provider within 30s", len(lat), count)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// backgroundLoad dispatches rate messages per second in one statement every
// 10 ms until ctx ends, and returns how many it sent.
func backgroundLoad(ctx context.Context, pool *pgxpool.Pool, rate int) int {
	per := max(1, rate/100)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return sent
		case <-tick.C:
		}
		if _, err := pool.Exec(ctx, emailRows, per); err != nil {
			return sent
		}
		sent += per
	}
}
