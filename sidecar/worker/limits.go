package worker

import (
	"context"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// ReloadLimits reads which rate-limit bucket each queue draws from, and
// whether it has a rate. The listener calls it when symphony.queues changes,
// when an operator's limit changes and when a learned one appears.
func (w *Worker) ReloadLimits(ctx context.Context) {
	limits, err := w.store.QueueLimits(ctx)
	if err != nil {
		w.log.Warn("could not read queue rate limits; keeping the previous ones", "error", err)
		return
	}
	for q, p := range w.producers {
		if b, ok := limits[q]; ok {
			p.bucket.Store(&b)
		} else {
			p.bucket.Store(nil)
		}
	}
}

// claimGrace is how long a claim under way when the worker stops may still
// take (see claim).
const claimGrace = 3 * time.Second

// claim takes up to n messages, within the queue's rate limit if it has one.
// wait > 0 means the bucket is empty for that long.
//
// A stop (ctx ending) does not abandon a claim under way: it gets claimGrace
// more to answer. pgx gives up on a cancelled statement at once, but the
// server may run it all the same (its cancel request can land too late), and
// what such a claim took stayed processing under a worker that had stopped,
// until the lease expired and rescue recorded a provider call that never
// happened. Waited for, its messages reach the producer, which hands them back.
func (w *Worker) claim(ctx context.Context, p *producer, free int) ([]msgtype.Message, int, time.Duration, error) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(claimGrace, cancel) })
	defer stopGrace()
	return w.claimWithin(cctx, p, free)
}

// claimWithin claims what free units (slots' worth of requests) can carry:
// a message each, or, while the queue's claims hold batches (batchMax), up
// to a batch each, handing back what does not fit. It returns the messages
// and how many it asked for.
func (w *Worker) claimWithin(ctx context.Context, p *producer, free int) ([]msgtype.Message, int, time.Duration, error) {
	requests := min(free, w.cfg.ClaimBatch)
	n, per := requests, 1
	if bm := int(p.batchMax.Load()); bm > 1 {
		n, per = min(w.cfg.ClaimBatch, free*bm), bm
	}
	b := p.bucket.Load()
	if b == nil || !b.Limited {
		msgs, err := w.store.Claim(ctx, p.queue, n, w.cfg.Lease)
		if err != nil || per == 1 {
			return msgs, n, 0, err
		}
		// Claimed a batch's worth per free slot: what does not fit in the
		// free slots (single messages among the bulk) goes back at once, by
		// a statement of its own, so that the usual claim stays one
		// statement (and an idle queue's wake-up as quick as before).
		if keep, _ := w.fit(msgs, free); keep < len(msgs) {
			ids := make([]int64, 0, len(msgs)-keep)
			for _, m := range msgs[keep:] {
				ids = append(ids, m.ID)
			}
			if _, err := w.store.Release(ctx, ids); err != nil {
				w.log.Warn("could not hand back claimed messages that did not fit; their leases will expire and they will be rescued",
					"queue", p.queue, "count", len(ids), "error", err)
			}
			msgs = msgs[:keep]
		}
		return msgs, n, 0, nil
	}
	if per == 1 {
		// A message a request: the claim takes its tokens in its own statement,
		// as quick to wake as a queue without a limit. (Should the plan still
		// put some of these in one batch request, the tokens of the requests
		// saved are spent; the queue then claims batches, below.)
		msgs, wait, err := w.store.ClaimLimited(ctx, p.queue, b.Name, n, w.cfg.Lease)
		return msgs, n, wait, err
	}
	msgs, wait, err := w.store.ClaimPlanned(ctx, p.queue, b.Name, n, requests, per, w.cfg.Lease, w.fit)
	return msgs, n, wait, err
}
