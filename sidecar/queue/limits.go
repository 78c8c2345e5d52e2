package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Bucket is the rate-limit bucket a queue draws from.
type Bucket struct {
	Name string
	// Limited: the bucket has a rate now (the operator's or a learned one),
	// so claims take tokens from it.
	Limited bool
	// Operator: the rate is the operator's per_second, which no learned
	// rate replaces.
	Operator bool
}

// QueueLimits returns the rate-limit bucket of every queue that has one.
func (s *Store) QueueLimits(ctx context.Context) (map[string]Bucket, error) {
	rows, err := s.pool.Query(ctx, queries.QueueLimits)
	if err != nil {
		return nil, fmt.Errorf("error reading queue rate limits: %w", err)
	}
	out := map[string]Bucket{}
	var q string
	var b Bucket
	_, err = pgx.ForEachRow(rows, []any{&q, &b.Name, &b.Limited, &b.Operator}, func() error {
		out[q] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading queue rate limits: %w", err)
	}
	return out, nil
}

// ClaimLimited claims like Claim, but only as many messages as bucket has
// tokens for, taking the tokens in the claim's own transaction. When the
// tokens, not limit or the backlog, bounded the claim, it returns how long
// until the next token.
func (s *Store) ClaimLimited(ctx context.Context, queue, bucket string, limit int, lease time.Duration) ([]Message, time.Duration, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("error claiming from queue %s: %w", queue, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var granted, waitMs int
	if err := tx.QueryRow(ctx, queries.TakeTokens, bucket, limit).Scan(&granted, &waitMs); err != nil {
		return nil, 0, fmt.Errorf("error taking %s tokens: %w", bucket, err)
	}
	var msgs []Message
	if granted > 0 {
		if msgs, err = s.claim(ctx, tx, queue, granted, lease); err != nil {
			return nil, 0, err
		}
		if unused := granted - len(msgs); unused > 0 {
			if _, err := tx.Exec(ctx, queries.GiveTokens, bucket, unused); err != nil {
				return nil, 0, fmt.Errorf("error returning %s tokens: %w", bucket, err)
			}
			waitMs = 0 // the backlog ran out first
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, fmt.Errorf("error claiming from queue %s: %w", queue, err)
	}
	return msgs, time.Duration(waitMs) * time.Millisecond, nil
}

// Throttle pauses bucket for every sidecar: the provider answered 429.
func (s *Store) Throttle(ctx context.Context, bucket string, pause time.Duration) error {
	if _, err := s.pool.Exec(ctx, queries.Throttle, bucket, pause.Milliseconds()); err != nil {
		return fmt.Errorf("error throttling %s: %w", bucket, err)
	}
	return nil
}
