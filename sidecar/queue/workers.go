package queue

import (
	"context"
	"encoding/json"
	"fmt"

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
	if _, err := s.pool.Exec(ctx, queries.Heartbeat, s.workerID, info.Hostname, info.Version, string(q)); err != nil {
		return fmt.Errorf("error recording heartbeat: %w", err)
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

// QueueStats is one queue's current load.
type QueueStats struct {
	Queue            string  `json:"queue"`
	Due              int64   `json:"due"`
	Scheduled        int64   `json:"scheduled"`
	Processing       int64   `json:"processing"`
	OldestDueSeconds float64 `json:"oldest_due_seconds"`
}

// Stats returns the load of every queue that has unfinished work.
func (s *Store) Stats(ctx context.Context) ([]QueueStats, error) {
	rows, err := s.pool.Query(ctx, queries.QueueStats)
	if err != nil {
		return nil, fmt.Errorf("error reading queue stats: %w", err)
	}
	defer rows.Close()
	var out []QueueStats
	for rows.Next() {
		var q QueueStats
		if err := rows.Scan(&q.Queue, &q.Due, &q.Scheduled, &q.Processing, &q.OldestDueSeconds); err != nil {
			return nil, fmt.Errorf("error reading queue stats: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error reading queue stats: %w", err)
	}
	return out, nil
}
