package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/app"
	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

func runThroughput(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	bin := fs.String("bin", "bin/symphony", "the sidecar binary")
	n := fs.Int("n", 200000, "messages to preload and send")
	via := fs.String("provider", "log", "log, or resend (a loopback fake of Resend's API)")
	queues := fs.String("queues", "", "SYMPHONY_QUEUES for the sidecar (default: the sidecar's own)")
	batch := fs.String("batch", "", "SYMPHONY_CLAIM_BATCH for the sidecar (default: the sidecar's own)")
	prefetch := fs.String("prefetch", "", "SYMPHONY_PREFETCH for the sidecar (default: the sidecar's own)")
	latency := fs.Duration("latency", 0, "with -provider resend: how long the fake takes to answer")
	gogc := fs.String("gogc", "", "GOGC for the sidecar (default: the Go runtime's, 100)")
	name := fs.String("name", "", "figure name (default symphony_<provider>)")
	cpuprofile := fs.String("cpuprofile", "", "run the sidecar in-process and write its CPU profile here")
	_ = fs.Parse(args)
	if *via != "log" && *via != "resend" {
		return fmt.Errorf("-provider must be log or resend, not %q", *via)
	}
	if *name == "" {
		*name = "symphony_" + *via
	}
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	env := map[string]string{}
	var set []string
	for _, v := range []struct{ name, value string }{
		{"SYMPHONY_QUEUES", *queues}, {"SYMPHONY_CLAIM_BATCH", *batch}, {"SYMPHONY_PREFETCH", *prefetch},
	} {
		if v.value != "" {
			env[v.name] = v.value
			set = append(set, v.name+"="+v.value)
		}
	}
	settings := "default settings"
	if len(set) > 0 {
		settings = strings.Join(set, ", ")
	}
	if *gogc != "" {
		if _, err := gcPercent(*gogc); err != nil {
			return err
		}
		env["GOGC"] = *gogc
		settings += ", GOGC=" + *gogc
	}
	if *via == "resend" {
		fake := resendfake.New(resendfake.Options{Pace: fakehttp.Pace{Latency: *latency}})
		defer fake.Close()
		env["SYMPHONY_EMAIL_PROVIDER"] = "resend"
		env["RESEND_API_KEY"] = resendfake.DefaultAPIKey
		env["SYMPHONY_RESEND_URL"] = fake.URL()
	}
	began := time.Now()
	if err := load(ctx, pool, *n); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  dispatched %d messages in %s\n", *n, time.Since(began).Round(time.Millisecond))

	var took, sidecarCPU time.Duration
	var rss int64
	// The server's CPU is read once the work is done but before the sidecar
	// stops: its connections' processes exit with it, and their CPU with them.
	pgBefore := clusterCPU(ctx, pool)
	var pgCPU time.Duration
	done := func() { pgCPU = cpuSince(pgBefore, clusterCPU(ctx, pool)) }
	if *cpuprofile != "" {
		took, err = inProcess(ctx, pool, *db, env, *n, *cpuprofile, done)
	} else {
		took, rss, sidecarCPU, err = subprocess(ctx, pool, *bin, *db, env, *n, done)
	}
	if err != nil {
		return err
	}
	var ok int
	if err := pool.QueryRow(ctx, `select count(*) from symphony.messages where state = 'succeeded'`).Scan(&ok); err != nil {
		return err
	}
	if ok != *n {
		return fmt.Errorf("%d of %d messages succeeded", ok, *n)
	}
	provider := "log provider"
	if *via == "resend" {
		provider = "Resend provider against a loopback fake of its API"
		if *latency > 0 {
			provider += fmt.Sprintf(" answering in %s", *latency)
		}
	}
	emit(figure{Name: *name, Value: float64(*n) / took.Seconds(), Unit: "msgs/s",
		Note: fmt.Sprintf("%d email.send messages, %s, %s", *n, provider, settings)})
	perMsg := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(*n) }
	if pgCPU > 0 {
		emit(figure{Name: *name + "_pg_cpu", Value: perMsg(pgCPU), Unit: "µs/msg",
			Note: "CPU time of the PostgreSQL server's processes per message, over the run (steadier than throughput on a shared machine)"})
	}
	if sidecarCPU > 0 {
		emit(figure{Name: *name + "_sidecar_cpu", Value: perMsg(sidecarCPU), Unit: "µs/msg",
			Note: "CPU time of the sidecar process per message, over the run"})
	}
	if rss > 0 {
		emit(figure{Name: *name + "_rss", Value: float64(rss) / (1 << 20), Unit: "MiB",
			Note: "peak resident set (VmHWM) of the sidecar process over the run"})
	}
	return nil
}

// subprocess times the built sidecar from the master flag turning on until
// every preloaded message is finished.
func subprocess(ctx context.Context, pool *pgxpool.Pool, bin, db string, env map[string]string, n int, done func()) (time.Duration, int64, time.Duration, error) {
	sc, err := startSidecar(ctx, bin, db, env)
	if err != nil {
		return 0, 0, 0, err
	}
	defer sc.stop()
	cpu := processCPU(sc.cmd.Process.Pid)
	took, err := drain(ctx, pool, n, sc.processed)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w; the sidecar's log:\n%s", err, sc.tail())
	}
	cpu = processCPU(sc.cmd.Process.Pid) - cpu
	done()
	rss, err := sc.peakRSS()
	return took, rss, cpu, err
}

// inProcess runs app.Main here instead, under the CPU profiler.
func inProcess(ctx context.Context, pool *pgxpool.Pool, db string, env map[string]string, n int, profile string, done func()) (time.Duration, error) {
	if g, ok := env["GOGC"]; ok {
		// The runtime read GOGC when this process started; -gogc applies here too.
		v, err := gcPercent(g)
		if err != nil {
			return 0, err
		}
		defer debug.SetGCPercent(debug.SetGCPercent(v))
	}
	vars := map[string]string{"DATABASE_URL": db, "SYMPHONY_HTTP_ADDR": "127.0.0.1:0", "SYMPHONY_WORKER_ID": "bench"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		return 0, err
	}
	m := &app.Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	rctx, stop := context.WithCancel(ctx)
	exited := make(chan error, 1)
	go func() { exited <- m.Run(rctx) }()
	defer func() { stop(); <-exited }()
	select {
	case <-m.Ready():
	case err := <-exited:
		return 0, fmt.Errorf("the sidecar stopped before it was ready: %v", err)
	}
	f, err := os.Create(profile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return 0, err
	}
	defer pprof.StopCPUProfile()
	addr := m.Addr().String()
	took, err := drain(ctx, pool, n, func() (float64, error) { return processedAt(addr) })
	done()
	return took, err
}

// drain turns the master flag on (the sidecar is told at once) and waits until
// the sidecar has handled n messages and none is left unfinished.
func drain(ctx context.Context, pool *pgxpool.Pool, n int, processed func() (float64, error)) (time.Duration, error) {
	began := time.Now()
	if err := setMaster(ctx, pool, true); err != nil {
		return 0, err
	}
	deadline := began.Add(15 * time.Minute)
	// Each poll makes the sidecar gather its metrics registry, work the run
	// would otherwise not do: polled every 25 ms it was a twentieth of the
	// sidecar's CPU. The poll comes a quarter of the expected time left
	// after the last one, so it is rare mid-run and frequent near the end,
	// where it sets the figure's precision.
	wait := 50 * time.Millisecond
	last, moved := -1.0, began
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		p, err := processed()
		if err != nil {
			return 0, err
		}
		wait = nextPoll(time.Since(began), p, float64(n))
		if p != last {
			last, moved = p, time.Now()
		}
		if p >= float64(n) || time.Since(moved) > 2*time.Second {
			// Done, or no progress for a while: a message that ended
			// otherwise (a suppressed address cancels its message) would
			// keep the run waiting for the deadline. (Not at every poll
			// without progress: the check is a statement inside the timed
			// drain.)
			left, err := unfinished(ctx, pool)
			if err != nil {
				return 0, err
			}
			switch {
			case !left && p >= float64(n):
				return time.Since(began), nil
			case !left:
				return 0, fmt.Errorf("only %.0f of %d messages were processed, and none is left pending or processing: look for cancelled or dead ones in symphony.messages", p, n)
			}
		}
		if time.Now().After(deadline) {
			return 0, errors.New("messages still unfinished after 15 minutes")
		}
	}
}

// nextPoll is how long to wait before looking again, after done of total in
// took: a quarter of the time left at the rate so far, within [5 ms, 250 ms].
func nextPoll(took time.Duration, done, total float64) time.Duration {
	const least, most = 5 * time.Millisecond, 250 * time.Millisecond
	if done <= 0 {
		return 50 * time.Millisecond
	}
	left := time.Duration(float64(took) * (total - done) / done / 4)
	return min(max(left, least), most)
}

// gcPercent reads a GOGC value as the runtime does: a percentage, or off.
func gcPercent(s string) (int, error) {
	if s == "off" {
		return -1, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("-gogc must be a percentage or off, not %q", s)
	}
	return v, nil
}
