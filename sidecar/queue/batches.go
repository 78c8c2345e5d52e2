package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgarray"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Batch is a provider batch request as symphony.provider_batches records it:
// its members in request order and the idempotency key every call of it
// carries.
type Batch struct {
	ID         int64
	Provider   string
	Key        string
	MessageIDs []int64
	// Attempts is how many calls were made (or begun) so far; Called: at
	// least one, so the provider may have accepted it.
	Attempts int
	Called   bool
	// Abandoned: a retry could not repeat it (UnfinishedBatches).
	Abandoned bool
}

// The outcomes a batch row ends with.
const (
	BatchAnswered  = msgtype.BatchAnswered // the provider answered per member; results written
	BatchFailed    = msgtype.BatchFailed   // the request as a whole failed for good
	BatchAbandoned = "abandoned"           // a retry could not repeat it exactly
)

// RecordBatch records a batch request before its first call: its members in
// request order, and its key, keyPrefix followed by the batch id. The batch
// counts as called once (the call follows at once).
func (s *Store) RecordBatch(ctx context.Context, provider, queue, keyPrefix string, ids []int64) (Batch, error) {
	b := Batch{Provider: provider, MessageIDs: ids, Attempts: 1, Called: true}
	err := s.pool.QueryRow(ctx, queries.RecordBatch, provider, queue, keyPrefix, pgarray.Int8s(ids)).Scan(&b.ID, &b.Key)
	if err != nil {
		return Batch{}, fmt.Errorf("error recording a batch of %d messages: %w", len(ids), err)
	}
	return b, nil
}

// UnfinishedBatches returns the batches without an outcome, and the
// abandoned ones, that any of ids is a member of, oldest first.
func (s *Store) UnfinishedBatches(ctx context.Context, ids []int64) ([]Batch, error) {
	rows, err := s.pool.Query(ctx, queries.UnfinishedBatches, pgarray.Int8s(ids))
	if err != nil {
		return nil, fmt.Errorf("error looking up unfinished batches: %w", err)
	}
	var out []Batch
	var b Batch
	_, err = pgx.ForEachRow(rows, []any{&b.ID, &b.Provider, &b.Key, &b.MessageIDs, &b.Attempts, &b.Called, &b.Abandoned}, func() error {
		out = append(out, b)
		b = Batch{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error looking up unfinished batches: %w", err)
	}
	return out, nil
}

// ErrBatchFinished is RepeatBatch's answer for a batch that was finished or
// abandoned meanwhile: it must not be called again.
var ErrBatchFinished = errors.New("the batch was finished or abandoned meanwhile")

// RepeatBatch counts another call of unfinished batch id, right before it is
// made, and returns the call's number.
func (s *Store) RepeatBatch(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, queries.RepeatBatch, id).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrBatchFinished
	}
	if err != nil {
		return 0, fmt.Errorf("error recording a repeat of batch %d: %w", id, err)
	}
	return n, nil
}

// FinishBatch gives unfinished batch id its outcome (BatchFailed,
// BatchAbandoned) and reports whether it was still unfinished.
func (s *Store) FinishBatch(ctx context.Context, id int64, outcome string) (bool, error) {
	return s.finishBatch(ctx, s.pool, id, outcome)
}

func (s *Store) finishBatch(ctx context.Context, q querier, id int64, outcome string) (bool, error) {
	rows, err := q.Query(ctx, queries.FinishBatch, id, outcome)
	if err != nil {
		return false, fmt.Errorf("error finishing batch %d: %w", id, err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return false, fmt.Errorf("error finishing batch %d: %w", id, err)
	}
	return len(done) > 0, nil
}

// CompleteBatch writes the outcomes of a batch's members and gives the batch
// its outcome in one transaction, so a member retried later finds the batch
// unfinished (and repeats it) exactly when its results were not written.
// It returns the ids written, as Complete.
func (s *Store) CompleteBatch(ctx context.Context, id int64, outcome string, outcomes []Outcome) ([]int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("error completing batch %d: %w", id, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	written, err := s.completeOn(ctx, tx, outcomes)
	if err != nil {
		return nil, err
	}
	if _, err := s.finishBatch(ctx, tx, id, outcome); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("error completing batch %d: %w", id, err)
	}
	return written, nil
}

// ClaimIDs claims those of ids (messages of queue) that are pending and due
// within a minute: the other members of an unfinished batch a retry repeats.
// A member held by another sidecar, or not due by then, is left out.
func (s *Store) ClaimIDs(ctx context.Context, queue string, ids []int64, lease time.Duration) ([]msgtype.Message, error) {
	msgs, _, err := s.claimBy(ctx, s.pool, queue, len(ids), queries.ClaimIDs, queue, pgarray.Int8s(ids), s.workerID, lease.Milliseconds())
	return msgs, err
}
