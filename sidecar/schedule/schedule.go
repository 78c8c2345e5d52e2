package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	queries "github.com/symphonymessenger/symphony/sql"
)

// DefaultInterval is how often a Runner looks for due schedules.
const DefaultInterval = 5 * time.Second

// Runner fires due schedules on a timer.
type Runner struct {
	pool     *pgxpool.Pool
	interval time.Duration
	log      *slog.Logger
}

// New returns a Runner that looks every interval (DefaultInterval if not positive).
func New(pool *pgxpool.Pool, interval time.Duration, log *slog.Logger) *Runner {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Runner{pool: pool, interval: interval, log: log.With("component", "scheduler")}
}

// Fire dispatches every schedule due now and returns how many fired.
func (r *Runner) Fire(ctx context.Context) (int, error) {
	var n int
	if err := r.pool.QueryRow(ctx, queries.RunSchedules).Scan(&n); err != nil {
		return 0, fmt.Errorf("error running due schedules: %w", err)
	}
	return n, nil
}

// Run fires due schedules until ctx ends. A failure is logged and tried again
// at the next tick: a due schedule stays due until it fires.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		n, err := r.Fire(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Warn("running due schedules failed; retrying at the next tick", "error", err, "retry_in", r.interval)
		case n > 0:
			r.log.Debug("schedules fired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
