package handler

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	queries "github.com/symphonymessenger/symphony/sql"
)

// SuppressionBatch answers the same question as SuppressionList, but checks
// that arrive while a query is running are gathered and answered together by
// the next one. A busy sidecar checks hundreds of messages at once; one query
// each cost a round trip and a pooled connection per message and halved its
// throughput (scripts/bench.sh). An idle sidecar still sends each check at
// once: nothing waits for a batch to fill.
type SuppressionBatch struct {
	DB *pgxpool.Pool

	mu      sync.Mutex
	pending []*suppressionCheck
	running bool // a query is in flight; whoever finishes it runs the next

	queries atomic.Int64 // statements run, for tests
}

type suppressionCheck struct {
	channel       string
	addresses     []string
	transactional bool
	out           []Suppressed
	err           error
	done          chan struct{}
}

// maxBatchChecks bounds one query.
const maxBatchChecks = 500

// Suppressed implements Suppressions.
func (b *SuppressionBatch) Suppressed(ctx context.Context, channel string, addresses []string, transactional bool) ([]Suppressed, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	c := &suppressionCheck{channel: channel, addresses: addresses, transactional: transactional, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		b.run(context.WithoutCancel(ctx))
	}
	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("error checking the suppression list: %w", ctx.Err())
	}
}

// run answers one batch of pending checks, then hands the next batch, if any
// arrived meanwhile, to a goroutine of its own: no caller waits for checks
// other than its own batch's. ctx carries values only, never a deadline.
func (b *SuppressionBatch) run(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.pending), maxBatchChecks)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	b.query(ctx, batch)
	b.queries.Add(1)

	b.mu.Lock()
	more := len(b.pending) > 0
	b.running = more
	b.mu.Unlock()
	if more {
		go b.run(ctx)
	}
}

// query runs one statement for batch and answers every check in it. It is
// bounded by its own timeout, not by any one caller's context: the checks of
// other messages ride on it.
func (b *SuppressionBatch) query(ctx context.Context, batch []*suppressionCheck) {
	var reqs []int32
	var channels, inputs []string
	var trans []bool
	for i, c := range batch {
		for _, a := range c.addresses {
			reqs, channels, inputs, trans = append(reqs, int32(i)), append(channels, c.channel), append(inputs, a), append(trans, c.transactional)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := func() error {
		rows, err := b.DB.Query(ctx, queries.SuppressedBatch, reqs, channels, inputs, trans)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int32
			var s Suppressed
			if err := rows.Scan(&i, &s.Address, &s.Reason); err != nil {
				return err
			}
			batch[i].out = append(batch[i].out, s)
		}
		return rows.Err()
	}()
	for _, c := range batch {
		if err != nil {
			c.out, c.err = nil, fmt.Errorf("error checking the suppression list: %w", err)
		}
		close(c.done)
	}
}
