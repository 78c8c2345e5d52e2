package handler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgarray"
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

	mu sync.Mutex
	// rounds wait for their statement, oldest first; the last one takes
	// checks until it is full.
	rounds  []*suppressionRound
	running bool            // a query is in flight; whoever finishes it runs the next
	spare   suppressionArgs // the last query's, for the next round to grow into

	queries atomic.Int64 // statements run, for tests
}

// suppressionRound is the checks one statement answers. Its arguments grow
// as checks join, and check i's answer is out[i]: a check costs no
// allocation or channel of its own.
type suppressionRound struct {
	checks int
	args   suppressionArgs
	out    [][]Suppressed
	err    error
	done   chan struct{} // closed once out and err are set
}

// suppressionArgs are a statement's arguments, one element per address.
type suppressionArgs struct {
	reqs     []int32 // the check the address belongs to
	channels []string
	inputs   []string
	trans    []bool
}

// reset empties a for reuse, letting go of the strings it held.
func (a suppressionArgs) reset() suppressionArgs {
	clear(a.channels)
	clear(a.inputs)
	return suppressionArgs{a.reqs[:0], a.channels[:0], a.inputs[:0], a.trans[:0]}
}

// maxBatchChecks bounds one query.
const maxBatchChecks = 500

// Suppressed implements Suppressions.
func (b *SuppressionBatch) Suppressed(ctx context.Context, channel string, addresses []string, transactional bool) ([]Suppressed, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	b.mu.Lock()
	r, i := b.join(channel, addresses, transactional)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		b.run(context.WithoutCancel(ctx))
	}
	select {
	case <-r.done: // the leader's answer is in already: no need for ctx.Done
	default:
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("error checking the suppression list: %w", ctx.Err())
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return r.out[i], nil
}

// join adds a check to the open round and returns the round and the check's
// index in it. b.mu is held.
func (b *SuppressionBatch) join(channel string, addresses []string, transactional bool) (*suppressionRound, int) {
	var r *suppressionRound
	if n := len(b.rounds); n > 0 && b.rounds[n-1].checks < maxBatchChecks {
		r = b.rounds[n-1]
	} else {
		r = &suppressionRound{args: b.spare, done: make(chan struct{})}
		b.spare = suppressionArgs{}
		b.rounds = append(b.rounds, r)
	}
	i := r.checks
	r.checks++
	q := &r.args
	for _, a := range addresses {
		q.reqs, q.channels, q.inputs, q.trans = append(q.reqs, int32(i)), append(q.channels, channel), append(q.inputs, a), append(q.trans, transactional)
	}
	return r, i
}

// run answers the oldest round, then hands the next one, if any arrived
// meanwhile, to a goroutine of its own: no caller waits for checks other than
// its own round's. ctx carries values only, never a deadline.
func (b *SuppressionBatch) run(ctx context.Context) {
	b.mu.Lock()
	r := b.rounds[0]
	b.rounds = slices.Delete(b.rounds, 0, 1)
	b.mu.Unlock()

	b.query(ctx, r)
	b.queries.Add(1)

	b.mu.Lock()
	b.spare = r.args.reset()
	more := len(b.rounds) > 0
	b.running = more
	b.mu.Unlock()
	if more {
		go b.run(ctx)
	}
}

// query runs one statement for round r and answers every check in it. It is
// bounded by its own timeout, not by any one caller's context: the checks of
// other messages ride on it.
func (b *SuppressionBatch) query(ctx context.Context, r *suppressionRound) {
	r.out = make([][]Suppressed, r.checks)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := func() error {
		q := r.args
		rows, err := b.DB.Query(ctx, queries.SuppressedBatch, pgarray.Int4s(q.reqs), pgarray.Texts(q.channels), pgarray.Texts(q.inputs), q.trans)
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
			r.out[i] = append(r.out[i], s)
		}
		return rows.Err()
	}()
	if err != nil {
		r.out, r.err = nil, fmt.Errorf("error checking the suppression list: %w", err)
	}
	close(r.done)
}
