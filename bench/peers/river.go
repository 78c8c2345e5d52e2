package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (*noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// runRiver preloads n no-op jobs with InsertManyFast (COPY), then starts a
// client and times it until it has reported n completions.
func runRiver(ctx context.Context, url string, n, workers int, tuned bool, name string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("error migrating River: %w", err)
	}
	if _, err := pool.Exec(ctx, "truncate river_job"); err != nil {
		return err
	}

	ws := river.NewWorkers()
	river.AddWorker(ws, &noopWorker{})
	cfg := &river.Config{
		Logger:  slog.New(slog.DiscardHandler),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers: ws,
	}
	if tuned {
		cfg.FetchCooldown = 2 * time.Millisecond
		cfg.FetchPollInterval = 20 * time.Millisecond
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, 0, 10000)
	for left := n; left > 0; left -= cap(params) {
		params = params[:0]
		for range min(left, cap(params)) {
			params = append(params, river.InsertManyParams{Args: noopArgs{}})
		}
		if _, err := client.InsertManyFast(ctx, params); err != nil {
			return fmt.Errorf("error inserting River jobs: %w", err)
		}
	}

	events, stop := client.SubscribeConfig(&river.SubscribeConfig{ChanSize: n + 1000, Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer stop()
	began := time.Now()
	if err := client.Start(ctx); err != nil {
		return err
	}
	for done := 0; done < n; done++ {
		select {
		case <-events:
		case <-ctx.Done():
			return fmt.Errorf("River completed %d of %d jobs before the deadline", done, n)
		}
	}
	took := time.Since(began)
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = client.Stop(stopCtx)
	note := fmt.Sprintf("River v0.51.2, %d no-op jobs, MaxWorkers %d, ", n, workers)
	if g := os.Getenv("GOGC"); g != "" {
		note += "GOGC=" + g + ", "
	}
	if tuned {
		note += "fetch cooldown 2 ms, fetch poll 20 ms"
	} else {
		note += "default fetch settings"
	}
	emit(figure{Name: name, Value: float64(n) / took.Seconds(), Unit: "jobs/s", Note: note})
	return nil
}
