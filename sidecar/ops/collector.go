package ops

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	queries "github.com/symphonymessenger/symphony/sql"
)

// QueueDepth reads every queue's unfinished and dead counts and the age of its
// oldest due message, from the partial indexes only.
func (s *Store) QueueDepth(ctx context.Context) ([]metrics.QueueDepth, error) {
	rows, err := s.db.Query(ctx, queries.OpsQueueDepth)
	if err != nil {
		return nil, fmt.Errorf("error reading queue depth: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (metrics.QueueDepth, error) {
		var d metrics.QueueDepth
		err := r.Scan(&d.Queue, &d.Pending, &d.Scheduled, &d.Processing, &d.Dead, &d.OldestPendingSeconds)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("error reading queue depth: %w", err)
	}
	return out, nil
}

// CollectMetrics refreshes the queue-depth gauges every interval until ctx ends.
// A periodic read, not one per scrape: however often Prometheus (or several)
// scrape, the database sees one cheap query per sidecar per interval. queues
// are reported as 0 when they have no messages.
func (s *Store) CollectMetrics(ctx context.Context, interval time.Duration, m *metrics.Metrics, queues []string, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		qctx, cancel := context.WithTimeout(ctx, max(interval, 5*time.Second))
		depths, err := s.QueueDepth(qctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			m.QueueStatsErrors.Inc()
			if !failing { // log when it starts failing, not on every tick
				log.Warn("queue depth refresh failed", "error", err)
			}
			failing = true
		case err == nil:
			if failing {
				log.Info("queue depth refresh works again")
			}
			failing = false
			m.SetQueueDepth(depths, queues, time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
