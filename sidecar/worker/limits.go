package worker

import (
	"context"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/queue"
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

// claim takes up to n messages, within the queue's rate limit if it has one.
// wait > 0 means the bucket bounded the claim and has no token for that long.
func (w *Worker) claim(ctx context.Context, p *producer, n int) ([]queue.Message, time.Duration, error) {
	b := p.bucket.Load()
	if b == nil || !b.Limited {
		msgs, err := w.store.Claim(ctx, p.queue, n, w.cfg.Lease)
		return msgs, 0, err
	}
	return w.store.ClaimLimited(ctx, p.queue, b.Name, n, w.cfg.Lease)
}
