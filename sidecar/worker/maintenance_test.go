package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// The worker runs others' periodic steps (worker.Periodic) knowing nothing of
// what they do: each at start and then at its interval, a failing one again
// at its next turn, and Run returns only once every step has returned.
func TestWorker_RunsPeriodicSteps(t *testing.T) {
	t.Parallel()
	pool := prefetchSetup(t, 0)
	var ticks, failures atomic.Int64
	var slowReturned atomic.Bool
	w := worker.New(queue.NewStore(pool, "w-periodic"), msgtype.Handlers{}, worker.Config{
		Queues: map[string]int{"email": 1}, ClaimBatch: 10,
		Lease: 10 * time.Second, PollInterval: time.Hour, HandlerTimeout: 5 * time.Second,
		ShutdownTimeout: 5 * time.Second,
		Periodic: []worker.Periodic{
			{Name: "tick", Every: 10 * time.Millisecond, Run: func(context.Context) error { ticks.Add(1); return nil }},
			{Name: "fail", Every: 10 * time.Millisecond, Run: func(context.Context) error {
				failures.Add(1)
				return errors.New("boom")
			}},
			// Every 0 is the rescue interval (an hour here): it runs once, at
			// start, and is still running when the worker stops.
			{Name: "slow", Run: func(ctx context.Context) error {
				<-ctx.Done()
				slowReturned.Store(true)
				return ctx.Err()
			}},
		},
		RescueInterval: time.Hour,
	}, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelError})), metrics.New())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitUntil(t, "the steps to run at least three times each", func() bool { return ticks.Load() >= 3 && failures.Load() >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slowReturned.Load() {
		t.Fatal("Run returned while a periodic step was still running")
	}
}
