package worker

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

const (
	// limitStart and limitFloor bound where a queue's concurrency limit
	// starts and how low it may fall (never above SYMPHONY_QUEUES).
	limitStart = 16
	limitFloor = 4
	// tuneTick is how often the tuner looks at the queues; each queue is
	// updated once its limiter's window has passed.
	tuneTick = 25 * time.Millisecond
	// prefetchHorizon is how much work an automatic prefetch holds: as many
	// messages as the queue finished in this long, lately. Enough to keep the
	// slots fed across a claim; little enough that another sidecar finds the
	// backlog, and that a higher-priority message waits behind no more than
	// this.
	prefetchHorizon = 50 * time.Millisecond
	// probeEvery is how often a queue held back by a learned rate limit asks
	// for it to be raised (the database raises it once a second for all:
	// asked only once a second, a sidecar missed its moment by up to that).
	probeEvery = 250 * time.Millisecond
	// maxWindow is the longest a measurement window lasts.
	maxWindow = 10 * time.Second
	// rateLimitsEvery is how often the buckets' rates are read for /metrics.
	rateLimitsEvery = 5 * time.Second
)

// tuning is the tuner goroutine's state for one queue.
type tuning struct {
	limiter *limiter
	rate    atomic.Uint64
	// peak is the highest recent rate, decaying by a fiftieth a window: the
	// prefetch follows it, not each window's rate, which dips whenever the
	// slots wait for a claim (and a smaller prefetch would make them wait
	// more: measured, the prefetch swung between 32 and 500 and the log
	// provider ran at half speed).
	peak    float64
	started int // slot goroutines started
	probed  time.Time
	// concurrencyProbed: when the bucket's learned concurrency was last
	// asked to rise (see probeConcurrency).
	concurrencyProbed time.Time
}

// sawHandler notes whether h's provider states no rate limit (any slot).
func (p *producer) sawHandler(h msgtype.Handler) {
	if !p.silent.Load() {
		if q, ok := h.(msgtype.SilentLimit); ok && q.ProviderStatesNoRateLimit() {
			p.silent.Store(true)
		}
	}
}

// claimTook records that a claim of p that found messages took d.
func (p *producer) claimTook(d time.Duration) {
	old := p.claimNs.Load()
	if old == 0 {
		p.claimNs.Store(int64(d))
		return
	}
	p.claimNs.Store(old + (int64(d)-old)/4)
}

// prefetchFor is how much of p's work the automatic prefetch holds:
// prefetchHorizon, or two of its claims lately if they take longer. What the
// slots finish while the next claim runs must be in hand already: with a
// fixed 50 ms, claims of 500 that took 40-60 ms on a loaded machine (the log
// provider, CPU-bound, finishing 8-10k a second) held the prefetch at what a
// claim brought, so the slots stood idle during every claim, and the
// automatic prefetch lost to a fixed one of 500 by a fifth.
func (p *producer) prefetchFor() time.Duration {
	return max(prefetchHorizon, 2*time.Duration(p.claimNs.Load()))
}

// rateNow is the queue's recent completions per second (any goroutine).
func (t *tuning) rateNow() float64 { return math.Float64frombits(t.rate.Load()) }

func (w *Worker) maxPrefetch() int {
	if w.cfg.Prefetch == AutoPrefetch {
		return w.cfg.ClaimBatch
	}
	return w.cfg.Prefetch
}

// startPrefetch is the prefetch before the first window's measurement. An
// automatic one starts at none: until the provider's first answers, this
// sidecar does not know its rate limit, and what it claimed ahead would go
// out unpaced.
func (w *Worker) startPrefetch() int {
	if w.cfg.Prefetch == AutoPrefetch {
		return 0
	}
	return w.cfg.Prefetch
}

// resize sets p's concurrency limit and prefetch. Slots parked above the old
// limit get up when it grows; those above a lower one park after their
// current message.
func (w *Worker) resize(p *producer, limit, prefetch int) {
	old := p.limit.Swap(int64(limit))
	capacity := limit + prefetch
	p.capacity.Store(int64(capacity))
	p.lowWater.Store(int64(max(1, min(capacity, w.cfg.ClaimBatch)/2)))
	if int64(limit) > old {
		p.wakeSlots()
	}
	w.m.Tuning.Concurrency.WithLabelValues(p.queue).Set(float64(limit))
	w.m.Tuning.Prefetch.WithLabelValues(p.queue).Set(float64(prefetch))
}

// startSlots starts the slot goroutines p's limit now needs.
func (w *Worker) startSlots(p *producer) {
	for ; p.tune.started < int(p.limit.Load()); p.tune.started++ {
		s := p.slots[p.tune.started]
		w.slotGroup.Go(func() { w.runSlot(s) })
	}
}

// park waits while slot s is above p's limit, unless p is stopping.
func (p *producer) park(s *slot) {
	for {
		resized := *p.resized.Load() // before the checks: a change after them closes it
		if s.index < int(p.limit.Load()) || p.closing.Load() {
			return
		}
		<-resized
	}
}

// wakeSlots makes parked slots look at the limit again.
func (p *producer) wakeSlots() {
	next := make(chan struct{})
	close(*p.resized.Swap(&next))
}

// finished counts an attempt of p that took took and ended with err.
//
// A 429's duration is not the provider's service time: it refuses at once.
// Counted in the mean, the refusals of a start against a provider that
// limits requests in flight (two sidecars, answers in 100 ms, 52 refusals in
// a millisecond each) set the lowest latency seen near 20 ms, every window
// after looked five times slower than that, and the limit sat at its floor
// until the lowest latency was forgotten 30 s later.
func (p *producer) finished(took time.Duration, err error) {
	p.done.Add(1)
	if refusal(err) {
		p.refused.Add(1)
	} else {
		p.latencyNs.Add(int64(took))
	}
	if overloaded(err) {
		p.dropped.Add(1)
	}
	if refusal(err) {
		p.refusedRun.Add(1)
	} else {
		if p.refusedRun.Load() != 0 { // (no write to a line every slot reads, mostly)
			p.refusedRun.Store(0)
		}
		// Counted when it was sent, as the provider counted it: at a 429,
		// what it accepted just before is still on its way back.
		p.accepted.add(time.Now().Add(-took))
	}
}

func refusal(err error) bool {
	var pe *provider.Error
	return err != nil && errors.As(err, &pe) && pe.StatusCode == http.StatusTooManyRequests
}

// overloaded reports whether err says the provider is overloaded or refusing
// our pace: a timeout, a transport error, a 5xx or a 429. A permanent
// rejection of one message says nothing about load.
func overloaded(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return false
	}
	return pe.StatusCode == http.StatusTooManyRequests || pe.StatusCode >= 500 || (pe.StatusCode == 0 && pe.Err != nil)
}

// runTuner adapts every queue's concurrency and prefetch to how its attempts
// go, until ctx ends.
func (w *Worker) runTuner(ctx context.Context) {
	tick := time.NewTicker(tuneTick)
	defer tick.Stop()
	var limitsRead time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for _, p := range w.producers {
				w.tuneQueue(ctx, p, now)
			}
			if now.Sub(limitsRead) >= rateLimitsEvery {
				limitsRead = now
				w.exportRateLimits(ctx)
			}
		}
	}
}

func (w *Worker) tuneQueue(ctx context.Context, p *producer, now time.Time) {
	t := &p.tune
	limit := int(p.limit.Load())
	b := p.bucket.Load()
	if p.silent.Load() {
		t.limiter.caution(b == nil || !b.Limited, now)
	}
	share := 0
	if b != nil {
		share = b.Share
	}
	if t.limiter.capAt(share) {
		w.resize(p, t.limiter.limit, int(p.capacity.Load())-limit)
		limit = t.limiter.limit
	}
	win, ended := t.limiter.observe(sample{done: int(p.done.Swap(0)), dropped: int(p.dropped.Swap(0)), refused: int(p.refused.Swap(0)),
		latency: time.Duration(p.latencyNs.Swap(0)), inflight: int(p.inflight.Load()),
		waiting: len(p.work) > 0, held: p.held.Load() > 0}, now)
	if !ended {
		if grown := t.limiter.limit; grown != limit {
			// Slow start between windows. An automatic prefetch (once the
			// first window has set one) keeps at least the limit, as at a
			// window's end: the added slots find their messages claimed.
			prefetch := int(p.capacity.Load()) - limit
			if w.cfg.Prefetch == AutoPrefetch && prefetch > 0 && !p.limited() {
				prefetch = min(max(prefetch, grown), w.cfg.ClaimBatch)
			}
			w.resize(p, grown, prefetch)
			w.startSlots(p)
		}
		return
	}
	limit = t.limiter.limit
	done, elapsed := win.done, win.elapsed
	if elapsed <= 0 {
		elapsed = tuneTick
	}
	rate := float64(done) / elapsed.Seconds()
	if old := t.rateNow(); old > 0 && done > 0 {
		rate = 0.5*old + 0.5*rate
	}
	t.rate.Store(math.Float64bits(rate))
	prefetch := w.cfg.Prefetch
	switch {
	case prefetch != AutoPrefetch:
	case b != nil && b.Limited:
		// The bucket paces the claims; a message claimed ahead would wait
		// here with its token spent and go out later, bunched with others.
		prefetch = 0
	default:
		t.peak = max(rate, t.peak*0.98)
		prefetch = min(max(int(t.peak*p.prefetchFor().Seconds()), limit), w.cfg.ClaimBatch)
	}
	w.resize(p, limit, prefetch)
	w.startSlots(p)
	// Held back: messages in hand, or a claim that found the bucket spent
	// within the last second. Messages in hand alone missed a slow bucket: at
	// a few requests a second each goes out in milliseconds, the tuner rarely
	// saw one held, and a rate learned low from the first 429s (7.2/s against
	// a limit of 40) was never asked to rise.
	w.probeConcurrency(ctx, p, b, limit, now)
	heldBack := p.held.Load() > 0 || now.Sub(time.Unix(0, p.heldBack.Load())) < time.Second
	if b != nil && b.Limited && !b.Operator && heldBack && now.Sub(t.probed) >= probeEvery {
		t.probed = now
		if _, err := w.store.ProbeRateLimit(ctx, b.Name, float64(p.sentLately(now))); err != nil && ctx.Err() == nil {
			w.log.Warn("could not probe the learned rate limit", "bucket", b.Name, "error", err)
		}
	}
}
