package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Failure is one row of symphony.recent_failures: a dead message, or a pending
// one waiting to retry after a failed attempt.
type Failure struct {
	ID          int64      `db:"id" json:"id"`
	Queue       string     `db:"queue" json:"queue"`
	Kind        string     `db:"kind" json:"kind"`
	State       string     `db:"state" json:"state"` // dead or pending
	Attempts    int        `db:"attempts" json:"attempts"`
	MaxAttempts int        `db:"max_attempts" json:"max_attempts"`
	FailedAt    time.Time  `db:"failed_at" json:"failed_at"`
	Reason      string     `db:"reason" json:"reason"`
	Code        *string    `db:"code" json:"code"`
	MaybeSent   bool       `db:"maybe_sent" json:"maybe_sent"`
	RetryAt     *time.Time `db:"retry_at" json:"retry_at"`
	Recipient   *string    `db:"recipient" json:"recipient,omitempty"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
}

// FailureFilter narrows a failure listing. Zero fields do not filter; Limit 0
// means 50.
type FailureFilter struct {
	Queue    string
	Kind     string
	Since    time.Duration // failed within this long ago
	Limit    int
	DeadOnly bool // the failure queue only, not messages waiting to retry
}

func (f FailureFilter) args() (queue, kind *string, sinceMS *int64) {
	if f.Queue != "" {
		queue = &f.Queue
	}
	if f.Kind != "" {
		kind = &f.Kind
	}
	if f.Since > 0 {
		ms := f.Since.Milliseconds()
		sinceMS = &ms
	}
	return queue, kind, sinceMS
}

// Failures lists failures, newest first.
func (s *Store) Failures(ctx context.Context, f FailureFilter) ([]Failure, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q, k, since := f.args()
	return collect[Failure](ctx, s.db, "failures", queries.OpsFailures, q, k, since, f.Limit, f.DeadOnly)
}

// Message is one message in full.
type Message struct {
	ID          int64           `db:"id" json:"id"`
	Kind        string          `db:"kind" json:"kind"`
	Queue       string          `db:"queue" json:"queue"`
	State       string          `db:"state" json:"state"`
	Priority    int16           `db:"priority" json:"priority"`
	Attempts    int             `db:"attempts" json:"attempts"`
	MaxAttempts int             `db:"max_attempts" json:"max_attempts"`
	Payload     json.RawMessage `db:"payload" json:"payload"`
	Subject     *string         `db:"subject" json:"subject"`
	Meta        json.RawMessage `db:"meta" json:"meta"`
	LastError   *string         `db:"last_error" json:"last_error"`
	Errors      []AttemptError  `db:"errors" json:"errors"`
	Result      json.RawMessage `db:"result" json:"result"`
	LockedBy    *string         `db:"locked_by" json:"locked_by"`
	LockedUntil *time.Time      `db:"locked_until" json:"locked_until"`
	CancelledBy *string         `db:"cancelled_by" json:"cancelled_by"`
	DedupeKey   *string         `db:"dedupe_key" json:"dedupe_key"`
	CreatedAt   time.Time       `db:"created_at" json:"created_at"`
	AvailableAt time.Time       `db:"available_at" json:"available_at"`
	AttemptedAt *time.Time      `db:"attempted_at" json:"attempted_at"`
	FinishedAt  *time.Time      `db:"finished_at" json:"finished_at"`
}

// AttemptError is one entry of a message's errors column.
type AttemptError struct {
	Attempt   int       `json:"attempt"`
	At        time.Time `json:"at"`
	Error     string    `json:"error"`
	Code      string    `json:"code,omitempty"`
	Worker    string    `json:"worker,omitempty"`
	MaybeSent bool      `json:"maybe_sent"`
}

// Message returns message id, or ErrNotFound.
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	rows, err := s.db.Query(ctx, queries.OpsMessage, id)
	if err != nil {
		return Message{}, fmt.Errorf("error reading message %d: %w", id, err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("error reading message %d: %w", id, err)
	}
	return m, nil
}

// Result says what an action did to one requested message. State is its state
// before ("" when no such message exists); Done whether the action happened.
type Result struct {
	ID    int64   `db:"id" json:"id"`
	State *string `db:"state" json:"state"`
	Done  bool    `db:"done" json:"done"`
}

// RetryDead sends the dead messages among ids again from their first attempt,
// audited under actor (see SetFlag). Messages in any other state are left alone
// and reported with Done false.
func (s *Store) RetryDead(ctx context.Context, ids []int64, actor string) (res []Result, err error) {
	err = s.asActor(ctx, actor, func(db DB) error {
		res, err = collect[Result](ctx, db, "retried messages", queries.OpsRetryDead, ids)
		return err
	})
	return res, err
}

// RetryDeadMatching retries every dead message the filter matches (DeadOnly is
// implied; Limit 0 means no limit), audited under actor, and returns their ids.
func (s *Store) RetryDeadMatching(ctx context.Context, f FailureFilter, actor string) (ids []int64, err error) {
	q, k, since := f.args()
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	err = s.asActor(ctx, actor, func(db DB) error {
		rows, err := db.Query(ctx, queries.OpsRetryDeadMatching, q, k, since, limit)
		if err == nil {
			ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("error retrying dead messages: %w", err)
	}
	return ids, nil
}

// RemoveDead deletes the dead messages among ids for good, audited under actor.
// Messages in any other state are never touched and are reported with Done false.
func (s *Store) RemoveDead(ctx context.Context, ids []int64, actor string) (res []Result, err error) {
	err = s.asActor(ctx, actor, func(db DB) error {
		res, err = collect[Result](ctx, db, "removed messages", queries.OpsRemoveDead, ids)
		return err
	})
	return res, err
}
