package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
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
	// Share is how many requests this sidecar may have in flight through the
	// bucket: its share of the account's concurrency in force (the
	// operator's concurrency, else learned_concurrency from the provider's
	// 429s), split between the live sidecars on the bucket. 0: neither set.
	// OperatorShare: the operator's concurrency, which no probe raises.
	Share         int
	OperatorShare bool
}

// QueueLimits returns the rate-limit bucket of every queue that has one.
func (s *Store) QueueLimits(ctx context.Context) (map[string]Bucket, error) {
	rows, err := s.pool.Query(ctx, queries.QueueLimits, s.workerID)
	if err != nil {
		return nil, fmt.Errorf("error reading queue rate limits: %w", err)
	}
	out := map[string]Bucket{}
	var q string
	var b Bucket
	_, err = pgx.ForEachRow(rows, []any{&q, &b.Name, &b.Limited, &b.Operator, &b.Share, &b.OperatorShare}, func() error {
		out[q] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading queue rate limits: %w", err)
	}
	return out, nil
}

// ClaimLimited claims like Claim, but only as many messages as bucket has
// tokens for, a token a message: claim_limited.sql takes up to limit tokens
// (symphony.take_tokens), claims at most as many messages as it was granted
// and gives back the tokens of those the backlog did not have, all in one
// statement. (It was a transaction: begin, take, claim, give, commit, five
// round trips with the bucket's row locked across them. A queue whose
// provider states its limit, as Resend and SendGrid always do, woke in
// 2.9-3.5 ms at the median that way, 2.1-2.7 ms in one statement.) When the
// tokens, not limit or the backlog, bounded the claim, it returns how long
// until the next token.
func (s *Store) ClaimLimited(ctx context.Context, queue, bucket string, limit int, lease time.Duration) ([]msgtype.Message, time.Duration, error) {
	msgs, g, err := s.claimBy(ctx, s.pool, queue, limit, queries.ClaimLimited, queue, limit, s.workerID, lease.Milliseconds(), bucket)
	if err != nil {
		return nil, 0, err
	}
	if g.claimed < g.granted {
		return msgs, 0, nil // the backlog ran out first
	}
	return msgs, time.Duration(g.waitMs) * time.Millisecond, nil
}

// Fit says how many of msgs, from the first, go out in at most budget
// provider requests, and in how many: a claim's messages may share
// requests (a batch endpoint takes many emails in one).
type Fit func(msgs []msgtype.Message, budget int) (keep, requests int)

// ClaimPlanned claims up to limit messages of queue that go out in at most
// requests provider requests, within bucket's tokens when bucket is not
// empty: a token is a request, not a message. It claims up to perRequest
// messages per request granted; fit (nil: a request per message) says how
// many requests they make, and those that do not fit in the requests
// granted are handed back in the same transaction, the unused tokens too.
// wait is as for ClaimLimited.
func (s *Store) ClaimPlanned(ctx context.Context, queue, bucket string, limit, requests, perRequest int, lease time.Duration, fit Fit) ([]msgtype.Message, time.Duration, error) {
	if fit == nil {
		limit = min(limit, requests)
		fit = func(msgs []msgtype.Message, budget int) (int, int) { n := min(len(msgs), budget); return n, n }
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("error claiming from queue %s: %w", queue, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	granted, waitMs := requests, 0
	if bucket != "" {
		if err := tx.QueryRow(ctx, queries.TakeTokens, bucket, requests).Scan(&granted, &waitMs); err != nil {
			return nil, 0, fmt.Errorf("error taking %s tokens: %w", bucket, err)
		}
	}
	var msgs []msgtype.Message
	if granted > 0 {
		// As many messages as the granted requests may carry.
		n := min(limit, granted*max(perRequest, 1))
		if msgs, _, err = s.claimBy(ctx, tx, queue, n, queries.Claim, queue, n, s.workerID, lease.Milliseconds()); err != nil {
			return nil, 0, err
		}
		keep, used := fit(msgs, granted)
		if keep < len(msgs) {
			ids := make([]int64, 0, len(msgs)-keep)
			for _, m := range msgs[keep:] {
				ids = append(ids, m.ID)
			}
			if _, err := tx.Exec(ctx, queries.Release, ids, s.workerID); err != nil {
				return nil, 0, fmt.Errorf("error handing back %d messages: %w", len(ids), err)
			}
			msgs = msgs[:keep]
		}
		if unused := granted - used; unused > 0 && bucket != "" {
			if _, err := tx.Exec(ctx, queries.GiveTokens, bucket, unused); err != nil {
				return nil, 0, fmt.Errorf("error returning %s tokens: %w", bucket, err)
			}
			if len(msgs) < n {
				waitMs = 0 // the backlog ran out first
			}
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
