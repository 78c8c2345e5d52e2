package suppression

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgarray"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Batch answers the same question as List, but checks
// that arrive while a query is running are gathered and answered together by
// the next one. A busy sidecar checks hundreds of messages at once; one query
// each cost a round trip and a pooled connection per message and halved its
// throughput (scripts/bench.sh). An idle sidecar still sends each check at
// once: nothing waits for a batch to fill.
type Batch struct {
	DB *pgxpool.Pool

	mu sync.Mutex
	// rounds wait for their statement, oldest first; the last one takes
	// checks until it is full.
	rounds  []*round
	running bool      // a query is in flight; whoever finishes it runs the next
	spare   queryArgs // the last query's, for the next round to grow into

	queries atomic.Int64 // statements run, for tests
}

// round is the checks one statement answers. Its arguments grow
// as checks join, and check i's answer is out[i]: a check costs no
// allocation or channel of its own.
type round struct {
	checks int
	args   queryArgs
	out    [][]Suppressed
	err    error
	done   chan struct{} // closed once out and err are set
}

// queryArgs are a statement's arguments, one element per address, and the
// JSON they are sent as when they are few (see fewAddresses).
type queryArgs struct {
	reqs     []int32 // the check the address belongs to
	channels []string
	inputs   []string
	trans    []bool
	doc      []byte
}

// reset empties a for reuse, letting go of the strings it held.
func (a queryArgs) reset() queryArgs {
	clear(a.channels)
	clear(a.inputs)
	return queryArgs{a.reqs[:0], a.channels[:0], a.inputs[:0], a.trans[:0], a.doc[:0]}
}

// json appends a's addresses to dst as the statement's JSON array:
// [{"req":0,"channel":"email","input":"a@example.com","transactional":false}, ...].
func (a queryArgs) json(dst []byte) []byte {
	dst = append(dst, '[')
	for i := range a.reqs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"req":`...)
		dst = strconv.AppendInt(dst, int64(a.reqs[i]), 10)
		dst = append(dst, `,"channel":`...)
		dst = appendJSONString(dst, a.channels[i])
		dst = append(dst, `,"input":`...)
		dst = appendJSONString(dst, a.inputs[i])
		dst = append(dst, `,"transactional":`...)
		dst = strconv.AppendBool(dst, a.trans[i])
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendJSONString appends s as a JSON string. Bytes that are not UTF-8 go
// as they are: the server refuses them, as it refused them in a text
// parameter.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// maxBatchChecks bounds one query.
const maxBatchChecks = 500

// fewAddresses is the most addresses checked by sql/suppressed_few.sql (one
// JSON parameter, a plan kept) rather than sql/suppressed_batch.sql (arrays,
// cheaper per address, planned at every call).
const fewAddresses = 32

// Suppressed implements Checker.
func (b *Batch) Suppressed(ctx context.Context, channel string, addresses []string, transactional bool) ([]Suppressed, error) {
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
func (b *Batch) join(channel string, addresses []string, transactional bool) (*round, int) {
	var r *round
	if n := len(b.rounds); n > 0 && b.rounds[n-1].checks < maxBatchChecks {
		r = b.rounds[n-1]
	} else {
		r = &round{args: b.spare, done: make(chan struct{})}
		b.spare = queryArgs{}
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
func (b *Batch) run(ctx context.Context) {
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
func (b *Batch) query(ctx context.Context, r *round) {
	r.out = make([][]Suppressed, r.checks)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := func() error {
		q := &r.args
		var rows pgx.Rows
		var err error
		if len(q.reqs) <= fewAddresses {
			q.doc = q.json(q.doc[:0])
			rows, err = b.DB.Query(ctx, queries.SuppressedFew, q.doc)
		} else {
			rows, err = b.DB.Query(ctx, queries.SuppressedBatch, pgarray.Int4s(q.reqs), pgarray.Texts(q.channels), pgarray.Texts(q.inputs), q.trans)
		}
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

// Check is one message's question to the suppression list.
type Check struct {
	Channel       string // "email" or "sms"
	Addresses     []string
	Transactional bool
}

// Prechecker is a Checker that answers many messages' checks in one
// statement: a claim's, checked when the worker hands it over
// (msgtype.Preparer).
type Prechecker interface {
	Checker
	Precheck(ctx context.Context, checks []Check) ([][]Suppressed, error)
}

var _ Prechecker = (*Batch)(nil)

// Precheck implements Prechecker: checks[i]'s suppressed addresses are
// out[i]. It runs its own statements (one per maxBatchChecks checks), beside
// the rounds of Suppressed.
func (b *Batch) Precheck(ctx context.Context, checks []Check) ([][]Suppressed, error) {
	out := make([][]Suppressed, 0, len(checks))
	for part := range slices.Chunk(checks, maxBatchChecks) {
		r := &round{checks: len(part), done: make(chan struct{})}
		q := &r.args
		for i, c := range part {
			for _, a := range c.Addresses {
				q.reqs, q.channels, q.inputs, q.trans = append(q.reqs, int32(i)), append(q.channels, c.Channel), append(q.inputs, a), append(q.trans, c.Transactional)
			}
		}
		b.query(ctx, r)
		b.queries.Add(1)
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.out...)
	}
	return out, nil
}

// Statements is how many statements b has run (for tests and benchmarks).
func (b *Batch) Statements() int64 { return b.queries.Load() }
