package worker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// ReloadLimits reads which rate-limit bucket each queue draws from. The
// listener calls it when symphony.queues or a bucket's limit changes.
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
func (w *Worker) claim(ctx context.Context, p *producer, n int) ([]queue.Message, time.Duration, error) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(claimGrace, cancel) })
	defer stopGrace()
	return w.claimWithin(cctx, p, n)
}

func (w *Worker) claimWithin(ctx context.Context, p *producer, n int) ([]queue.Message, time.Duration, error) {
	b := p.bucket.Load()
	if b == nil {
		msgs, err := w.store.Claim(ctx, p.queue, n, w.cfg.Lease)
		return msgs, 0, err
	}
	msgs, wait, err := w.store.ClaimLimited(ctx, p.queue, *b, n, w.cfg.Lease)
	if len(msgs) > 0 {
		wait = 0
	}
	return msgs, wait, err
}

// defaultThrottle is how long a bucket pauses after a 429 without Retry-After.
const defaultThrottle = time.Second

// throttleOn429 pauses the message's bucket for every sidecar when the provider
// answered 429: the account's limit is shared, so one sidecar's 429 is
// everyone's.
func (w *Worker) throttleOn429(m *queue.Message, err error) {
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.StatusCode != http.StatusTooManyRequests {
		return
	}
	p, ok := w.producers[m.Queue]
	if !ok || p.bucket.Load() == nil {
		return
	}
	pause := pe.RetryAfter
	if pause <= 0 {
		pause = defaultThrottle
	}
	bucket := *p.bucket.Load()
	ctx, cancel := context.WithTimeout(w.hard, 5*time.Second)
	defer cancel()
	if err := w.store.Throttle(ctx, bucket, pause); err != nil {
		w.log.Warn("could not throttle the rate-limit bucket", "bucket", bucket, "error", err)
		return
	}
	w.log.Warn("provider rate limit hit: bucket paused for every sidecar", "bucket", bucket, "pause", pause)
}
