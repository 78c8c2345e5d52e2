package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgarray"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	queries "github.com/symphonymessenger/symphony/sql"
)

// State is where an attempt leaves its message.
type State string

const (
	Succeeded State = "succeeded"
	Dead      State = "dead"
	Retry     State = "pending" // back to pending, due after RetryIn
	// Cancelled ends the message unsent: Code names who cancelled it (stored
	// in cancelled_by) and Error why (last_error); no error entry is added.
	Cancelled State = "cancelled"
	// Deferred puts the message back to pending, due after RetryIn, without
	// counting the attempt or recording an error (quiet hours, a step not yet
	// due). Error, if any, is not stored.
	Deferred State = "deferred"
)

// Outcome is the result of one attempt, written back by Complete.
type Outcome struct {
	ID      int64
	Attempt int
	State   State
	Result  json.RawMessage // stored in result; nil keeps what is there
	Error   string          // empty on success
	Code    string          // a provider's error code, if any
	RetryIn time.Duration   // for Retry
	// MaybeSent: this failed attempt may still have reached the provider.
	MaybeSent bool
}

// Store runs the queue's statements for one worker identity.
type Store struct {
	pool     *pgxpool.Pool
	workerID string
	log      *slog.Logger
}

// NewStore returns a Store that claims as workerID (what locked_by records).
func NewStore(pool *pgxpool.Pool, workerID string) *Store {
	return &Store{pool: pool, workerID: workerID, log: slog.New(slog.DiscardHandler)}
}

// WithLogger makes the store report what it deals with itself (a claimed
// message that cannot be read) to log, and returns the store.
func (s *Store) WithLogger(log *slog.Logger) *Store {
	s.log = log
	return s
}

// WorkerID is the identity this store claims under.
func (s *Store) WorkerID() string { return s.workerID }

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Claim leases up to limit due messages of queue (sql/claim.sql), in
// priority then due-time order. Only the pending partial index is scanned;
// SKIP LOCKED lets any number of sidecars claim side by side; nothing is
// claimed while the master flag is off.
func (s *Store) Claim(ctx context.Context, queue string, limit int, lease time.Duration) ([]msgtype.Message, error) {
	msgs, _, err := s.claimBy(ctx, s.pool, queue, limit, queries.Claim, queue, limit, s.workerID, lease.Milliseconds())
	return msgs, err
}

// grant is what a claim within a rate-limit bucket (claim_limited.sql) was
// granted.
type grant struct {
	granted int // tokens taken: the most messages the claim could take
	waitMs  int // take_tokens's wait, when the tokens bounded the grant
	claimed int // rows claimed, readable or not
}

// claimBy runs a claiming statement (claim.sql, claim_limited.sql,
// claim_ids.sql) that returns at most limit messages of queue, and
// claim_limited.sql's grant.
func (s *Store) claimBy(ctx context.Context, q querier, queue string, limit int, sql string, args ...any) ([]msgtype.Message, grant, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, grant{}, fmt.Errorf("error claiming from queue %s: %w", queue, err)
	}
	defer rows.Close()
	// Sized for a full claim up front: grown by appending, the slice of a claim
	// of 500 was the sidecar's largest allocation.
	msgs := make([]msgtype.Message, 0, limit)
	var r claimReader
	var bad []Outcome
	claimed := 0
	for rows.Next() {
		msgs = append(msgs, msgtype.Message{})
		m := &msgs[len(msgs)-1]
		// Payload and meta are read as plain bytes: scanned as json.RawMessage,
		// pgx would run each through json.Unmarshal, re-validating JSON that
		// PostgreSQL already holds as jsonb (6% of a busy sidecar's CPU).
		found, err := r.read(rows, m)
		if found {
			claimed++
		}
		switch {
		case err != nil && m.ID == 0:
			return nil, grant{}, fmt.Errorf("error claiming from queue %s: %w", queue, err)
		case err != nil:
			bad = append(bad, unreadable(m, err))
			msgs = msgs[:len(msgs)-1]
		case !found:
			msgs = msgs[:len(msgs)-1]
		}
	}
	if err := rows.Err(); err != nil {
		return nil, grant{}, fmt.Errorf("error claiming from queue %s: %w", queue, err)
	}
	if err := s.endUnreadable(ctx, q, bad); err != nil {
		// The readable messages are claimed and go on; the others stay leased
		// until rescue brings them back to be read again.
		s.log.Warn("could not end unreadable messages; rescue will return them", "queue", queue, "error", err)
	}
	return msgs, grant{granted: int(r.granted), waitMs: int(r.waitMs), claimed: claimed}, nil
}

// Complete writes outcomes in one statement and returns the ids it wrote. An
// outcome is skipped when its lease was lost (rescued and claimed again).
// It sorts outcomes by id, in place.
func (s *Store) Complete(ctx context.Context, outcomes []Outcome) ([]int64, error) {
	return s.completeOn(ctx, s.pool, outcomes)
}

// completeOn is Complete through q: the pool, or a claim's transaction.
func (s *Store) completeOn(ctx context.Context, q querier, outcomes []Outcome) ([]int64, error) {
	// Sorted so that the completion's row locks follow one order; the lease
	// extension, which also touches many held rows, skips a row it would
	// wait for (extend_leases.sql), so the two cannot deadlock.
	slices.SortFunc(outcomes, func(a, b Outcome) int { return cmp.Compare(a.ID, b.ID) })
	n := len(outcomes)
	ids := make([]int64, n)
	attempts := make([]int32, n)
	results := make([]*string, n)
	for i, o := range outcomes {
		ids[i], attempts[i] = o.ID, int32(o.Attempt)
		if o.Result != nil {
			r := string(o.Result)
			results[i] = &r
		}
	}
	if allPlainSuccesses(outcomes) {
		// The common batch, by a statement with no per-row CASE (complete_succeeded.sql).
		return s.complete(ctx, q, n, queries.CompleteSucceeded, pgarray.Int8s(ids), attempts, results, s.workerID)
	}
	states := make([]string, n)
	errs := make([]*string, n)
	codes := make([]*string, n)
	retry := make([]int64, n)
	maybe := make([]bool, n)
	for i, o := range outcomes {
		states[i], maybe[i], retry[i] = string(o.State), o.MaybeSent, o.RetryIn.Milliseconds()
		if o.Error != "" {
			e := o.Error
			errs[i] = &e
		}
		if o.Code != "" {
			c := o.Code
			codes[i] = &c
		}
	}
	return s.complete(ctx, q, n, queries.Complete, pgarray.Int8s(ids), attempts, pgarray.Texts(states), results, errs, codes, retry, s.workerID, maybe)
}

// allPlainSuccesses reports whether every outcome succeeded without an error
// text to record: what complete_succeeded.sql writes.
func allPlainSuccesses(outcomes []Outcome) bool {
	for i := range outcomes {
		if outcomes[i].State != Succeeded || outcomes[i].Error != "" {
			return false
		}
	}
	return true
}

// complete runs one of the completion statements for n outcomes and returns
// the ids it wrote.
func (s *Store) complete(ctx context.Context, q querier, n int, sql string, args ...any) ([]int64, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("error completing %d messages: %w", n, err)
	}
	written, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error completing %d messages: %w", n, err)
	}
	return written, nil
}

// ExtendLeases pushes out the leases of ids this worker still holds.
func (s *Store) ExtendLeases(ctx context.Context, ids []int64, lease time.Duration) (int64, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids) // the order Complete takes; rows held elsewhere are skipped
	tag, err := s.pool.Exec(ctx, queries.ExtendLeases, pgarray.Int8s(ids), s.workerID, lease.Milliseconds())
	if err != nil {
		return 0, fmt.Errorf("error extending %d leases: %w", len(ids), err)
	}
	return tag.RowsAffected(), nil
}

// RescueExpired returns messages whose lease expired to pending (or dead),
// and returns how many.
func (s *Store) RescueExpired(ctx context.Context) (rescued int, err error) {
	if err := s.pool.QueryRow(ctx, queries.Rescue).Scan(&rescued); err != nil {
		return 0, fmt.Errorf("error rescuing expired leases: %w", err)
	}
	return rescued, nil
}

// InstallationID returns this database's installation id.
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, queries.Installation).Scan(&id); err != nil {
		return "", fmt.Errorf("error reading the installation id: %w", err)
	}
	return id, nil
}

// MasterEnabled reports whether the master flag is on.
func (s *Store) MasterEnabled(ctx context.Context) (bool, error) {
	var on bool
	if err := s.pool.QueryRow(ctx, queries.MasterFlag).Scan(&on); err != nil {
		return false, fmt.Errorf("error reading the master flag: %w", err)
	}
	return on, nil
}
