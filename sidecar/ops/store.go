package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/symphonymessenger/symphony/sidecar/queue"

	queries "github.com/symphonymessenger/symphony/sql"
)

// DB is a *pgxpool.Pool or a *pgx.Conn: the sidecar shares its pool, a CLI
// command opens one connection.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Store runs the operator's statements.
type Store struct{ db DB }

// New returns a Store over db.
func New(db DB) *Store { return &Store{db: db} }

// ErrNotFound is returned for a message id that does not exist.
var ErrNotFound = errors.New("not found")

// QueueStats is one row of the overview, of
// symphony.queue_stats_bounded(queue.PendingCap): the symphony.queue_stats
// view's columns (the view is the same function with no cap) with the pending
// counts bounded. Its live columns are queue.Depth, the reading /status and
// /metrics make with sql/queue_depth.sql and the same cap;
// TestStore_QueueStatsDepthIsQueueDepth holds the two to the same counts.
// When Depth.PendingCapped is set, Retrying is a lower bound too.
type QueueStats struct {
	queue.Depth
	Retrying    int64      `db:"retrying" json:"retrying"`
	Succeeded5m int64      `db:"succeeded_5m" json:"succeeded_5m"`
	Dead5m      int64      `db:"dead_5m" json:"dead_5m"`
	Succeeded1h int64      `db:"succeeded_1h" json:"succeeded_1h"`
	Dead1h      int64      `db:"dead_1h" json:"dead_1h"`
	PerMinute5m float64    `db:"per_minute_5m" json:"per_minute_5m"`
	PerMinute1h float64    `db:"per_minute_1h" json:"per_minute_1h"`
	LastDeadAt  *time.Time `db:"last_dead_at" json:"last_dead_at"`
}

// QueueStats returns every queue's depth, failures and throughput.
func (s *Store) QueueStats(ctx context.Context) ([]QueueStats, error) {
	return collect[QueueStats](ctx, s.db, "queue stats", queries.OpsQueueStats, queue.PendingCap)
}

// Worker is one row of symphony.worker_status.
type Worker struct {
	ID                  string          `db:"id" json:"id"`
	Hostname            string          `db:"hostname" json:"hostname"`
	Version             string          `db:"version" json:"version"`
	Queues              json.RawMessage `db:"queues" json:"queues"`
	Status              string          `db:"status" json:"status"` // alive, stale or stopped
	HeartbeatAgeSeconds float64         `db:"heartbeat_age_seconds" json:"heartbeat_age_seconds"`
	Processing          int64           `db:"processing" json:"processing"`
	StartedAt           time.Time       `db:"started_at" json:"started_at"`
	HeartbeatAt         time.Time       `db:"heartbeat_at" json:"heartbeat_at"`
	StoppedAt           *time.Time      `db:"stopped_at" json:"stopped_at"`
}

// Workers returns the sidecars that are running or stopped within a day.
func (s *Store) Workers(ctx context.Context) ([]Worker, error) {
	return collect[Worker](ctx, s.db, "workers", queries.OpsWorkers)
}

// Processing counts messages in flight in every sidecar.
func (s *Store) Processing(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRow(ctx, queries.OpsProcessing).Scan(&n); err != nil {
		return 0, fmt.Errorf("error counting processing messages: %w", err)
	}
	return n, nil
}

// Overview is everything the dashboard and /status show.
type Overview struct {
	Queues   []QueueStats `json:"queues"`
	Failures []Failure    `json:"recent_failures"`
	Workers  []Worker     `json:"workers"`
	Flags    []Flag       `json:"flags"`
	// RateLimits are the shared buckets: the rate in force, whose it is
	// (operator or learned), and what was learned from the provider.
	RateLimits []queue.RateLimit `json:"rate_limits"`
}

// Overview reads queues, the newest failures (at most failures of them),
// workers and flags.
func (s *Store) Overview(ctx context.Context, failures int) (Overview, error) {
	var o Overview
	var err error
	if o.Queues, err = s.QueueStats(ctx); err != nil {
		return o, err
	}
	if o.Failures, err = s.Failures(ctx, FailureFilter{Limit: failures}); err != nil {
		return o, err
	}
	if o.Workers, err = s.Workers(ctx); err != nil {
		return o, err
	}
	if o.Flags, err = s.Flags(ctx); err != nil {
		return o, err
	}
	o.RateLimits, err = queue.ReadRateLimits(ctx, s.db)
	return o, err
}

// Read runs fn over a Store that reads in one read-only transaction with JIT
// compilation off: what a dashboard page reads. Its statements are short, and
// the planner's estimate for a partial index can run high (the statistics
// still counting a backlog since drained, say), which put the overview's
// recent failures over the JIT threshold: 0.15-0.3 s of compiling for a few
// milliseconds of work, on each request. SET LOCAL keeps the setting to the
// transaction, so it holds through a transaction-mode pooler too.
func (s *Store) Read(ctx context.Context, fn func(*Store) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.OpsRead); err != nil {
			return fmt.Errorf("error starting the read: %w", err)
		}
		return fn(&Store{db: tx})
	})
}

// asActor runs fn in one transaction whose audit rows (symphony.actor()) name
// actor; an empty actor leaves the database to name its user or the request's JWT.
func (s *Store) asActor(ctx context.Context, actor string, fn func(DB) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if actor != "" {
			if _, err := tx.Exec(ctx, queries.OpsSetActor, actor); err != nil {
				return fmt.Errorf("error naming the actor: %w", err)
			}
		}
		return fn(tx)
	})
}

// collect runs a statement and scans its rows into T by column name.
func collect[T any](ctx context.Context, db DB, what, sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[T])
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", what, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}
