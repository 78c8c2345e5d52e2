package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// WorkerInfo is what a sidecar registers about itself in symphony.workers.
type WorkerInfo struct {
	Hostname string
	Version  string
	Queues   map[string]int // queue → concurrency
}

// Heartbeat registers this worker or records that it is alive.
func (s *Store) Heartbeat(ctx context.Context, info WorkerInfo) error {
	q, err := json.Marshal(info.Queues)
	if err != nil {
		return fmt.Errorf("error encoding queues: %w", err)
	}
	var dropped int64
	if err := s.pool.QueryRow(ctx, queries.Heartbeat, s.workerID, info.Hostname, info.Version, string(q)).Scan(&dropped); err != nil {
		return fmt.Errorf("error recording heartbeat: %w", err)
	}
	if dropped > 0 {
		if _, err := s.pool.Exec(ctx, queries.SyncListen); err != nil {
			return fmt.Errorf("error updating symphony.listening after dropping %d stale listener rows: %w", dropped, err)
		}
	}
	return nil
}

// SetListening says whether this worker sleeps on queue until notified (on)
// or polls it (off); dispatches into a queue NOTIFY only while someone listens.
func (s *Store) SetListening(ctx context.Context, queue string, on bool) error {
	q := queries.ListenerOff
	if on {
		q = queries.ListenerOn
	}
	if _, err := s.pool.Exec(ctx, q, queue, s.workerID); err != nil {
		return fmt.Errorf("error setting how queue %s is woken: %w", queue, err)
	}
	return nil
}

// Stopped records a clean stop of this worker.
func (s *Store) Stopped(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, queries.WorkerStop, s.workerID); err != nil {
		return fmt.Errorf("error recording worker stop: %w", err)
	}
	return nil
}

// Depth is one queue's live load, a row of sql/queue_depth.sql: the one
// reading behind /status, the /metrics gauges and the first columns of the
// symphony.queue_stats view (ops.QueueStats embeds it). Pending counts the
// messages due now; Scheduled those delayed or backing off.
type Depth struct {
	Queue      string `db:"queue" json:"queue"`
	Pending    int64  `db:"pending" json:"pending"`
	Scheduled  int64  `db:"scheduled" json:"scheduled"`
	Processing int64  `db:"processing" json:"processing"`
	Dead       int64  `db:"dead" json:"dead"`
	// OldestPendingSeconds is exact, however deep the backlog.
	OldestPendingSeconds float64 `db:"oldest_pending_seconds" json:"oldest_pending_seconds"`
	// PendingCapped says Pending and Scheduled counted only the first cap
	// pending messages of the queue (PendingCap, or the view's none): they
	// are lower bounds.
	PendingCapped bool `db:"pending_capped" json:"pending_capped"`
}

// PendingCap bounds the pending messages a depth reading counts a queue: a
// backlog larger than this reads as "at least", so the reading costs the same
// however deep the backlog grows (about 20 ms at 10,000, where counting
// 200,000 took 170-390 ms). /status, /metrics and the dashboard's overview
// all count with it.
const PendingCap = 10000

// ReadDepth returns the depth of every queue that has unfinished or dead
// messages, from the partial indexes only, counting at most cap + 1 pending
// messages a queue (PendingCap in the sidecar).
func ReadDepth(ctx context.Context, db Querier, cap int) ([]Depth, error) {
	rows, err := db.Query(ctx, queries.QueueDepth, cap)
	if err != nil {
		return nil, fmt.Errorf("error reading queue depth: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Depth])
	if err != nil {
		return nil, fmt.Errorf("error reading queue depth: %w", err)
	}
	return out, nil
}

// Depth returns the depth of every queue that has unfinished or dead messages.
func (s *Store) Depth(ctx context.Context) ([]Depth, error) {
	return ReadDepth(ctx, s.pool, PendingCap)
}
