package worker

import (
	"context"
	"sync"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// Twilio limits the requests an account has in flight, not a rate: its 429
// (error 20429) says there were too many, and every answer of its REST API
// counts them (Twilio-Concurrent-Requests, the request answered included).
// Read as a rate limit, its 429s gave a rate that fits one latency only, and
// was learned from the first seconds, while slow start was still small: two
// sidecars against a fake allowing 20 requests in flight at 100 ms each (200
// a second at most) sent 65 a second.
//
// So a 429 that counts its requests in flight teaches the bucket the
// account's concurrency (symphony.rate_concurrency), and each live sidecar
// on the bucket runs at most its share of it: the queue's slots (limiter's
// cap), whatever the provider's latency. A 429 that counted no more requests
// in flight than an accepted answer of the last second or two did was not
// over the limit (another cause, or a fake refusing at random): it changes
// nothing but its message's next try. While its share holds a queue back,
// a sidecar asks for the concurrency to rise a step (probe_concurrency), so
// an account whose limit Twilio raised is followed.

// inFlightPeak is the most requests in flight that the provider's accepted
// answers counted, this second and the one before.
type inFlightPeak struct {
	mu        sync.Mutex
	second    int64
	cur, prev int
}

func (k *inFlightPeak) roll(now time.Time) {
	s := now.Unix()
	switch {
	case s == k.second:
		return
	case s == k.second+1:
		k.prev = k.cur
	default:
		k.prev = 0
	}
	k.cur, k.second = 0, s
}

// saw counts an accepted answer that counted n requests in flight.
func (k *inFlightPeak) saw(n int, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.roll(now)
	k.cur = max(k.cur, n)
}

// recent is the most requests in flight an accepted answer counted lately.
func (k *inFlightPeak) recent(now time.Time) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.roll(now)
	return max(k.cur, k.prev)
}

// concurrencyNote is what a sidecar last recorded of a bucket's concurrency.
type concurrencyNote struct {
	mu     sync.Mutex
	at     time.Time // when a 429 last set it, by this sidecar
	limit  int       // what the bucket said then
	logged time.Time // when a 429 not over the limit was last logged
}

// concurrencyRecordGap: 429s of one burst (the requests in flight when the
// account's limit was reached) set the limit once; the bucket keeps the
// lowest count of a burst within a second anyway.
const concurrencyRecordGap = time.Second

// concurrencyBackoff is how long a slot whose request was refused over the
// account's concurrency waits before its next: what is in flight needs a
// moment to finish (Twilio: "wait for a short period of time").
const concurrencyBackoff = 100 * time.Millisecond

// concurrencyProbeEvery is how often a sidecar asks for its bucket's
// concurrency to rise while its share holds a queue back.
const concurrencyProbeEvery = time.Second

// strayLogEvery is how often a 429 that was not over the account's
// concurrency is logged, at most.
const strayLogEvery = time.Minute

// overConcurrency takes a 429 that counted its requests in flight
// (pe.InFlight): over the most an accepted answer counted lately, it is the
// account's limit, recorded for every sidecar; otherwise it was refused for
// another reason, and only its message waits. It reports whether pe came
// from a provider that counts requests in flight, whose 429s the rate search
// leaves alone.
//
// It runs in the slot whose request was refused, and returns once p's limit
// is within this sidecar's share and concurrencyBackoff has passed: a
// refused request answers at once, and a slot that went straight on to its
// next message was refused again and again until the account's requests in
// flight finished (162 times in the first second, two sidecars starting at
// 16 slots each against a limit of 20; 52 with the limit capped at once).
func (w *Worker) overConcurrency(p *producer, b queue.Bucket, pe *provider.Error) bool {
	if pe.InFlight <= 0 {
		return false
	}
	defer func() {
		select {
		case <-time.After(concurrencyBackoff):
		case <-w.hard.Done():
		}
	}()
	l := w.learner(b.Name)
	now := time.Now()
	n := &l.concurrency
	n.mu.Lock()
	defer n.mu.Unlock()
	if peak := l.inFlight.recent(now); pe.InFlight <= max(1, peak) {
		if now.Sub(n.logged) >= strayLogEvery {
			n.logged = now
			w.log.Info("provider refused a request with 429 while the account had fewer requests in flight than it accepted lately; the concurrency holds",
				"bucket", b.Name, "in_flight", pe.InFlight, "accepted_in_flight", peak, "error", pe.Message)
		}
		return true
	}
	if now.Sub(n.at) < concurrencyRecordGap && pe.InFlight-1 >= n.limit {
		p.capLimit() // this burst's limit is recorded already
		return true
	}
	ctx, cancel := context.WithTimeout(w.hard, 5*time.Second)
	defer cancel()
	c, err := w.store.RateConcurrency(ctx, b.Name, pe.InFlight)
	if err != nil {
		w.log.Warn("could not record the provider account's concurrency", "bucket", b.Name, "error", err)
		return true
	}
	changed := c != n.limit
	n.at, n.limit = now, c
	if changed {
		w.log.Warn("provider refused a request over the account's concurrency: every sidecar keeps to its share of the limit",
			"bucket", b.Name, "concurrency", c, "in_flight", pe.InFlight)
	}
	w.ReloadLimits(ctx) // this sidecar's share at once; the others hear of a change from the trigger
	p.capLimit()
	return true
}

// capLimit brings p's limit within its bucket's concurrency share now, ahead
// of the tuner (which caps its limiter at the next look): the slots above it
// park once their message is done.
func (p *producer) capLimit() {
	if b := p.bucket.Load(); b != nil && b.Share > 0 && p.limit.Load() > int64(b.Share) {
		p.limit.Store(int64(b.Share))
	}
}

// probeConcurrency asks for the bucket's learned concurrency to rise when
// this sidecar's share of it holds p's queue back (its slots are all at the
// share and messages wait for them), at most every concurrencyProbeEvery;
// never under an operator's concurrency, which no probe raises.
func (w *Worker) probeConcurrency(ctx context.Context, p *producer, b *queue.Bucket, limit int, now time.Time) {
	t := &p.tune
	if b == nil || b.Share <= 0 || b.OperatorShare || limit < b.Share || len(p.work) == 0 ||
		now.Sub(t.concurrencyProbed) < concurrencyProbeEvery {
		return
	}
	t.concurrencyProbed = now
	if _, err := w.store.ProbeConcurrency(ctx, b.Name); err != nil && ctx.Err() == nil {
		w.log.Warn("could not probe the provider account's concurrency", "bucket", b.Name, "error", err)
	}
}

// sharesConcurrency reports whether a queue runs a share of a learned
// concurrency, which changes as sidecars come and go.
func (w *Worker) sharesConcurrency() bool {
	for _, p := range w.producers {
		if b := p.bucket.Load(); b != nil && b.Share > 0 {
			return true
		}
	}
	return false
}
