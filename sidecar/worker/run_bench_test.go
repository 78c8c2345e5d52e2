package worker_test

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/kind"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// BenchmarkWorker_Run sends 20,000 email.send messages through a worker with
// the built-in handlers, the log provider and the suppression list, as
// scripts/bench.sh configures the sidecar (200 slots, claims of 500, prefetch
// 500), against the private test cluster. cpu-µs/msg is this process's CPU
// per message: the sidecar's share, without the database server's.
//
//	go test ./sidecar/worker -run '^$' -bench Worker_Run -benchtime 1x -count 3
func BenchmarkWorker_Run(b *testing.B) {
	const n = 20000
	db := pgtest.NewDB(b)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `update symphony.flags set enabled = true where name = 'symphony'`); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	handlers := kind.Builtins(kind.Deps{Email: outbox.New(100, log), DB: db.Pool})
	var took, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := db.Pool.Exec(ctx, `truncate symphony.messages cascade`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `insert into symphony.messages (kind, payload)
			select 'email.send', jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'bench@example.com',
			                                        'subject', 'bench ' || g, 'text', 'hello')
			  from generate_series(1, $1::int) g`, n); err != nil {
			b.Fatal(err)
		}
		w := worker.New(queue.NewStore(db.Pool, "w-bench"), handlers, worker.Config{
			Queues: map[string]int{"email": 200}, ClaimBatch: 500, Prefetch: 500,
			Lease: time.Minute, PollInterval: 50 * time.Millisecond, HandlerTimeout: 30 * time.Second,
			ShutdownTimeout: 5 * time.Second,
		}, log, metrics.New())
		b.StartTimer()
		began, cpuBefore := time.Now(), cpuTime()
		wctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		for {
			var left bool
			if err := db.Pool.QueryRow(ctx, `select exists (select 1 from symphony.messages where state <> 'succeeded')`).Scan(&left); err != nil {
				b.Fatal(err)
			}
			if !left {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		took, cpu = took+time.Since(began), cpu+cpuTime()-cpuBefore
		stop()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/took.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu-µs/msg")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
