package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// Batching: a provider's request rate, not the claim loop, bounds a bulk
// send, and some providers take many messages in one request (Resend's
// POST /emails/batch up to 100, Postmark's POST /email/batch up to 500). When
// a claim holds several messages that may share a request (msgtype.BatchHandler's
// BatchKey: the same provider, bulk priority, nothing the batch endpoint
// refuses), the worker hands them to one slot as a batch unit, which the
// handler sends in one request. A lone message, and every message of
// priority 0 or above (transactional mail), still goes single, at once.
//
// Exactly once: the handler records a batch (its members in request order,
// its idempotency key) before calling the provider (Record). A member
// retried while its batch is unfinished (the sidecar died mid-call, or the
// call timed out or got a 5xx) finds the batch here, and the worker gathers
// the other members, so the retry repeats the same request under the same
// key, which a provider that honours keys answers with the original result.
// A batch that cannot be repeated exactly is abandoned, and its members are
// flagged possible_duplicate when they next succeed. Each member's outcome is
// its own; the results of an answered batch are written in one transaction
// with the batch's outcome, so "unfinished" means "results not written".

// batchCall is a batch unit: messages of one batch key, sent together. It is
// the msgtype.BatchCall its handler's HandleBatch is given.
type batchCall struct {
	Queue string
	Msgs  []*msgtype.Message
	// Jobs are what the kind's Preparer prepared for Msgs (nil: none for
	// any member).
	Jobs []msgtype.Job
	// Repeat, when set, is the unfinished batch Msgs are the members of, in
	// its order: the handler sends exactly that request again (Again) or,
	// if it cannot (a member's content or recipients changed), abandons it
	// (Abandon) and sends the members as new requests.
	Repeat *queue.Batch

	w        *Worker
	max      int       // the most one request of its key takes
	requests []request // what the handler sent, in order
}

// request is one provider request a batch unit made.
type request struct {
	batch   int64  // the batch row; 0 for a single send
	finish  string // the batch's outcome to write with its members' results; "": left unfinished
	members []int  // indexes into Msgs
}

var _ msgtype.BatchCall = (*batchCall)(nil)

// Messages implements msgtype.BatchCall.
func (c *batchCall) Messages() []*msgtype.Message { return c.Msgs }

// Job implements msgtype.BatchCall.
func (c *batchCall) Job(i int) msgtype.Job {
	if c.Jobs == nil {
		return nil
	}
	return c.Jobs[i]
}

// Repeating implements msgtype.BatchCall.
func (c *batchCall) Repeating() (int64, bool) {
	if c.Repeat == nil {
		return 0, false
	}
	return c.Repeat.ID, true
}

// Record records a new batch of the members at indexes idx (request order)
// before its first call, and returns its id (its key is keyPrefix and the
// id) and its call number.
func (c *batchCall) Record(ctx context.Context, provider, keyPrefix string, idx []int) (int64, int, error) {
	ids := make([]int64, len(idx))
	for i, j := range idx {
		ids[i] = c.Msgs[j].ID
	}
	b, err := c.w.store.RecordBatch(ctx, provider, c.Queue, keyPrefix, ids)
	if err != nil {
		return 0, 0, err
	}
	c.requests = append(c.requests, request{batch: b.ID, members: idx})
	return b.ID, b.Attempts, nil
}

// Again records another call of Repeat, made with every member in order,
// and returns the call's number. queue.ErrBatchFinished: another sidecar
// finished or abandoned it meanwhile; the handler must then send the
// members as new requests, as after Abandon.
func (c *batchCall) Again(ctx context.Context) (int, error) {
	n, err := c.w.store.RepeatBatch(ctx, c.Repeat.ID)
	if err != nil {
		c.abandoned()
		return 0, err
	}
	idx := make([]int, len(c.Msgs))
	for i := range idx {
		idx[i] = i
	}
	c.requests = append(c.requests, request{batch: c.Repeat.ID, members: idx})
	return n, nil
}

// Abandon gives up repeating Repeat: no retry repeats it, and its members,
// sent next under other keys, are flagged as possible duplicates when it may
// have been accepted.
func (c *batchCall) Abandon(ctx context.Context) {
	if c.Repeat == nil {
		return
	}
	if _, err := c.w.store.FinishBatch(ctx, c.Repeat.ID, queue.BatchAbandoned); err != nil {
		c.w.log.Warn("could not record an abandoned batch; a later retry may try to repeat it",
			"batch", c.Repeat.ID, "error", err)
	}
	c.abandoned()
}

func (c *batchCall) abandoned() {
	if c.Repeat.Called {
		for _, m := range c.Msgs {
			m.DuplicateRisk = true
		}
	}
	c.Repeat = nil
}

// Single records that the member at index i went out in a request of its own.
func (c *batchCall) Single(i int) {
	c.requests = append(c.requests, request{members: []int{i}})
}

// Finish sets the outcome written with the results of the batch request
// recorded last (Record or Again): msgtype.BatchAnswered when the provider
// answered per member, msgtype.BatchFailed when the request failed for good.
// Not called: the batch stays unfinished and a retry of its members repeats
// it.
func (c *batchCall) Finish(outcome string) {
	if n := len(c.requests); n > 0 && c.requests[n-1].batch != 0 {
		c.requests[n-1].finish = outcome
	}
}

// callBatch runs h.HandleBatch, turning a panic into every message's error.
func callBatch(ctx context.Context, h msgtype.BatchHandler, c *batchCall) (out []msgtype.BatchResult) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
			out = make([]msgtype.BatchResult, len(c.Msgs))
			for i := range out {
				out[i].Err = err
			}
		}
	}()
	out = h.HandleBatch(ctx, c)
	if len(out) != len(c.Msgs) {
		err := fmt.Errorf("batch handler returned %d results for %d messages", len(out), len(c.Msgs))
		out = make([]msgtype.BatchResult, len(c.Msgs))
		for i := range out {
			out[i].Err = err
		}
	}
	return out
}

// runBatch runs batch unit c in slot s: the handler sends it, each message
// gets its own outcome, and the outcomes of every batch request that got an
// answer (or failed for good) are written with the batch's outcome at once.
func (w *Worker) runBatch(s *slot, c *batchCall) {
	msgs := c.Msgs
	h, _ := w.handlers.Route(msgs[0].Kind)
	bh := h.(msgtype.BatchHandler) // batchKey and batching route only such kinds here
	s.p.sawHandler(h)
	start := time.Now()
	ctx := w.begin(s, start)
	results := callBatch(ctx, bh, c)
	w.end(s, ctx)
	took := time.Since(start)
	outcomes := make([]queue.Outcome, len(msgs))
	for i, m := range msgs {
		km := s.metrics(m)
		km.observe(w.m, took)
		err := results[i].Err
		if err != nil && w.hard.Err() != nil {
			err = fmt.Errorf("interrupted by shutdown; the provider may have been called: %w", err)
			outcomes[i] = w.record(km, m, queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Retry,
				Error: truncate(err.Error()), Code: "interrupted", MaybeSent: true}, took)
			continue
		}
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = &provider.Error{Provider: m.Kind, MaybeSent: true, Err: err,
				Message: fmt.Sprintf("batch attempt exceeded its %s deadline; the provider may have been called", w.cfg.HandlerTimeout)}
		}
		outcomes[i] = w.decide(km, m, results[i].Result, err, took)
	}
	s.p.finished(took, wholeError(results))
	m := w.m
	for _, r := range c.requests {
		if r.batch == 0 {
			s.p.singleRequests.Add(1)
			m.SendRequests.WithLabelValues(c.Queue, "single").Inc()
			m.SendMessages.WithLabelValues(c.Queue, "single").Inc()
			continue
		}
		s.p.batchRequests.Add(1)
		s.p.batchedMessages.Add(int64(len(r.members)))
		m.SendRequests.WithLabelValues(c.Queue, "batch").Inc()
		m.SendMessages.WithLabelValues(c.Queue, "batch").Add(float64(len(r.members)))
		m.BatchSize.WithLabelValues(c.Queue).Observe(float64(len(r.members)))
	}
	// done: the member's outcome was written with its batch's, or could not
	// be written before the final deadline (its lease expires, and rescue
	// returns it to repeat the batch). The others go to the completer.
	done := make([]bool, len(msgs))
	for _, r := range c.requests {
		if r.batch == 0 {
			continue
		}
		if r.finish == "" {
			// Left unfinished: its members retry together, to repeat it.
			sameRetry(outcomes, r.members)
			continue
		}
		outs := make([]queue.Outcome, len(r.members))
		for j, i := range r.members {
			outs[j] = outcomes[i]
		}
		w.completeBatch(r.batch, r.finish, outs)
		for _, i := range r.members {
			done[i] = true
		}
	}
	for i := range msgs {
		if !done[i] {
			w.outcomes <- outcomes[i]
		}
		w.running.Done()
	}
}

// completeBatch writes the outcomes of an answered (or failed) batch request
// with the batch's outcome, in one transaction, retrying while the database
// is unreachable as the completer does. They are never written apart: a
// member whose result was written while its batch stayed unfinished would
// make a later retry of another member find the batch, fail to gather it,
// and flag that retry a possible duplicate although the provider had
// refused it.
func (w *Worker) completeBatch(id int64, outcome string, outs []queue.Outcome) {
	w.m.CompleteBatch.Observe(float64(len(outs)))
	written, ok := w.retryWrite(len(outs), func(ctx context.Context) ([]int64, error) {
		return w.store.CompleteBatch(ctx, id, outcome, slices.Clone(outs))
	}, "batch", id)
	if ok {
		w.forget(outs, written)
	}
}

// sameRetry gives the members of a batch left unfinished one retry time, so
// they come due together and the retry gathers them all.
func sameRetry(outcomes []queue.Outcome, members []int) {
	var at time.Duration
	found := false
	for _, i := range members {
		o := &outcomes[i]
		if o.State != queue.Retry && o.State != queue.Deferred {
			continue
		}
		if !found {
			at, found = o.RetryIn, true
		}
		o.RetryIn = at
	}
}

// wholeError is the error every result shares (the request as a whole
// failed), or nil.
func wholeError(results []msgtype.BatchResult) error {
	if len(results) == 0 || results[0].Err == nil {
		return nil
	}
	for _, r := range results[1:] {
		if r.Err != results[0].Err {
			return nil
		}
	}
	return results[0].Err
}
