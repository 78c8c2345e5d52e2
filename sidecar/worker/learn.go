package worker

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// A provider's rate limit is per account, so what one sidecar learns of it
// goes into the queue's shared bucket (symphony.rate_limits), where every
// sidecar's claims take their tokens. Two signals teach it:
//
//   - a stated limit (Resend's ratelimit-*, SendGrid's X-RateLimit-*) on any
//     answer: the bucket's learned rate becomes the stated one less a margin,
//     paced evenly by the token bucket, so nothing bursts at a reset; a window
//     with nothing left pauses the bucket until it resets; a window an
//     accepted answer says is spent while the bucket sends below its ceiling
//     was spent by another client on the same account (an application's
//     own sender, during a migration): the rate falls by a tenth, and rises
//     a step at a time for a while after (rate_spent);
//   - a 429 (any provider; Postmark's and Twilio's say nothing else): the
//     learned rate falls and the bucket pauses; while the bucket then holds
//     its queue back, the tuner asks for it to rise again (probe_rate_limit).
//     Once the bucket has a rate, a 429 alone (after an accepted request)
//     counts only as the third within a few seconds: a limit refuses twice
//     in a row, or once every window; a stray 429 seldom does either. The
//     bucket counts every sidecar's 429s alone too (rate_stray): three close
//     together start a trial at a lower rate, where a limit stops refusing
//     and a provider refusing at random does not.
//
// An operator's per_second wins over both: a 429 then only pauses the bucket,
// as it always did.
//
// Twilio limits requests in flight, not a rate; its 429s teach the bucket a
// concurrency instead (concurrency.go), and never reach the rate search.

// learner is what this sidecar knows of one bucket's stated limit.
type learner struct {
	mu      sync.Mutex
	window  time.Duration // longest window seen (a Reset counts down from it)
	stated  float64       // the rate last recorded
	paused  time.Time     // until when the bucket was paused for an empty window
	refused time.Time     // when a 429 was last recorded
	streak  int           // 429s recorded less than a second apart, lately
	lone    time.Time     // when the last 429 alone came (see refused)
	lones   int           // 429s alone, each less than loneGap after the last
	spent   time.Time     // when a spent window was last recorded
	// sharedLogged: when another client's use of the limit was last logged.
	sharedLogged time.Time
	// An account's concurrency (concurrency.go), under locks of their own:
	// every answer of such a provider counts its requests in flight.
	inFlight    inFlightPeak
	concurrency concurrencyNote
}

func (w *Worker) learner(bucket string) *learner {
	w.learnMu.Lock()
	defer w.learnMu.Unlock()
	if w.learners == nil {
		w.learners = map[string]*learner{}
	}
	l := w.learners[bucket]
	if l == nil {
		l = &learner{}
		w.learners[bucket] = l
	}
	return l
}

// stray reports whether a 429 alone (after an accepted request), at now,
// is not the limit, and counts it (l.mu held). A rate well above a limit
// meets a second 429 in a row at once (the provider refuses everything past
// its limit until its window resets): refused never asks. A rate a request or
// two above it meets a 429 alone in every window, so loneStreak of them, each
// less than loneGap after the last, are the limit too. A provider that refuses
// now and then for another reason seldom does either (the chaos suite's fakes
// refuse 5 % of requests, Retry-After: 1); read as the limit, each such 429
// lowered the learned rate and paused the bucket for a second, and the rate
// fell to 1-2/s for good. A stray's message only waits out its Retry-After.
// (The first 429 of an unpaced bucket still starts the pacing: refused asks
// only once the bucket has a rate, and what was sent unpaced is no rate.)
func (l *learner) stray(now time.Time) bool {
	if now.Sub(l.lone) < loneGap {
		l.lones++
	} else {
		l.lones = 1
	}
	l.lone = now
	if l.lones < loneStreak {
		return true
	}
	l.lones = 0
	return false
}

// strayToBucket gives the bucket a 429 that this sidecar took for a stray
// (symphony.rate_stray): the bucket counts them for every sidecar, since a
// rate just above a limit meets one a window, split between the sidecars,
// and each alone sees too few.
func (w *Worker) strayToBucket(bucket string) {
	ctx, cancel := context.WithTimeout(w.hard, 5*time.Second)
	defer cancel()
	if err := w.store.RateStray(ctx, bucket); err != nil {
		w.log.Warn("could not record a 429 alone", "bucket", bucket, "error", err)
	}
}

// producerKey finds, in a request's context, the queue whose attempt sent it.
type producerKey struct{}

// RateSignal takes what a provider's answer said about its rate limit (the
// shared HTTP client calls it, see httpx.Config.RateSignals) and keeps the
// bucket of the queue that sent the request at it.
func (w *Worker) RateSignal(ctx context.Context, sig httpx.RateSignal) {
	p, _ := ctx.Value(producerKey{}).(*producer)
	if p == nil {
		return // not a queue's attempt
	}
	b := p.bucket.Load()
	if b == nil {
		return
	}
	if sig.InFlight > 0 && !sig.Refused {
		// An accepted answer that counts the account's requests in flight:
		// a 429 counting no more is not over the limit (concurrency.go).
		w.learner(b.Name).inFlight.saw(sig.InFlight, time.Now())
	}
	if sig.Limit <= 0 {
		return // no stated limit; a bare 429 is decide's
	}
	l := w.learner(b.Name)
	l.mu.Lock()
	defer l.mu.Unlock()
	window := sig.Window
	if window == 0 {
		// The longest time to a reset seen is the window, in whole seconds.
		window = max(l.window, sig.Reset.Round(time.Second), time.Second)
	}
	l.window = window
	stated := float64(sig.Limit) / window.Seconds()
	wctx, cancel := context.WithTimeout(w.values, 5*time.Second)
	defer cancel()
	if l.stated == 0 || math.Abs(stated-l.stated) > l.stated/100 {
		changed, err := w.store.LearnRateLimit(wctx, b.Name, stated, sig.Header+" header")
		if err != nil {
			w.log.Warn("could not record the provider's rate limit", "bucket", b.Name, "error", err)
			return
		}
		l.stated = stated
		if changed {
			w.log.Info("rate limit learned from the provider", "bucket", b.Name, "per_second", stated,
				"source", sig.Header, "operator_setting_wins", b.Operator)
			if !b.Limited {
				w.ReloadLimits(wctx) // the others hear of it from the trigger
			}
		}
	}
	if !sig.Refused && !b.Operator && sig.Remaining >= 0 && float64(sig.Remaining) <= spentLeft(sig.Limit) &&
		time.Since(l.spent) >= spentEvery {
		l.spent = time.Now()
		w.windowSpent(wctx, b.Name, l, stated)
	}
	if sig.Remaining == 0 && !sig.Refused && sig.Reset > 0 && window > time.Second && time.Now().After(l.paused) {
		// The window is spent: whatever is sent before it resets is refused.
		// (Not for windows of a second: a reset in whole seconds would pause
		// for up to twice the time left, and the pacing keeps to them.)
		l.paused = time.Now().Add(sig.Reset)
		if err := w.store.Throttle(wctx, b.Name, sig.Reset); err != nil {
			w.log.Warn("could not pause the rate-limit bucket", "bucket", b.Name, "error", err)
		}
	}
}

// spentLeft is what a window has left when it is spent: less than a bucket
// alone leaves at its ceiling (0.95 of the limit, or one less), so that a
// bucket alone below it never reads its own windows as spent.
func spentLeft(limit int) float64 { return max(1, 0.05*float64(limit)) - 1 }

// spentEvery is how often a sidecar says a window was spent, at most;
// sharedLogEvery how often it logs that another client shares the limit.
const (
	spentEvery     = 500 * time.Millisecond
	sharedLogEvery = 5 * time.Minute
)

// windowSpent tells the bucket that an accepted answer said the provider's
// window was spent (symphony.rate_spent). Below the bucket's ceiling that
// means another client spends the same limit (an application's own sender,
// during a migration): the probe then raises the rate a step at a time, and
// the operator hears of it every few minutes. l.mu held.
func (w *Worker) windowSpent(ctx context.Context, bucket string, l *learner, stated float64) {
	paced, ceiling, err := w.store.RateSpent(ctx, bucket)
	if err != nil {
		w.log.Warn("could not record a spent rate-limit window", "bucket", bucket, "error", err)
		return
	}
	if ceiling > 0 && paced < ceiling && time.Since(l.sharedLogged) >= sharedLogEvery {
		l.sharedLogged = time.Now()
		w.log.Warn("the provider's window was spent while this bucket sent below its stated limit: another client uses the same account",
			"bucket", bucket, "paced_per_second", paced, "stated_per_second", stated, "ceiling_per_second", ceiling,
			"hint", "an application still sending through the same API key (the legacy path of a migration) shares the limit; the bucket holds its rate below where the provider's windows fill")
	}
}

// defaultThrottle is how long an operator's bucket pauses after a 429
// without Retry-After; learnedThrottle a learned one's, whose rate falls too.
const (
	defaultThrottle = time.Second
	learnedThrottle = 100 * time.Millisecond
	// refusedGap: 429s closer together than this are one event (many sends
	// were in flight when the provider started refusing).
	refusedGap = 100 * time.Millisecond
	// firstGuessRecount is when, after the first 429 of a bucket that had no
	// rate, a sidecar counts again what the provider accepted from it: by
	// then the requests it had in flight have answered (within the second
	// the bucket pauses for, so the guess is made again before any use).
	firstGuessRecount = 500 * time.Millisecond
	// loneGap and loneStreak: a 429 alone that follows loneStreak-1 others,
	// each less than loneGap after the last, is a rate just above a limit
	// (one 429 a window); a provider refusing 5 % of a sidecar's 4 requests
	// a second at random does that about once in 20 of its 429s.
	loneGap    = 1200 * time.Millisecond
	loneStreak = 3
)

// refused records a provider's 429 in the message's bucket, for every
// sidecar: the account's limit is shared, so one sidecar's 429 is everyone's.
func (w *Worker) refused(m *msgtype.Message, err error) {
	if !refusal(err) {
		return
	}
	pe, _ := errors.AsType[*provider.Error](err)
	p, ok := w.producers[m.Queue]
	if !ok || p.bucket.Load() == nil {
		return
	}
	b := *p.bucket.Load()
	if w.overConcurrency(p, b, pe) {
		return // a provider that limits requests in flight, not a rate
	}
	// A 429 alone, between accepted requests, while the bucket paces a
	// provider that states no limit, may be a stray (learner.stray): it holds
	// this sidecar back only a moment until the learner says.
	alone := p.refusedRun.Load() < 2 && b.Limited && !b.Operator
	pause := pe.RetryAfter
	if pause <= 0 {
		pause = learnedThrottle
		if b.Operator || !b.Limited {
			// An operator's bucket, or the first 429 of a provider that
			// states nothing: its window is spent, for up to a second (the
			// common window); whatever goes out before it resets is refused
			// too.
			pause = defaultThrottle
		}
	}
	// Stop this sidecar's claims now, before waiting for the learner (whose
	// lock another 429's database write may hold); the bucket's pause,
	// written below, stops the others'.
	if alone {
		p.pauseFor(learnedThrottle)
	} else {
		p.pauseFor(pause)
	}
	l := w.learner(b.Name)
	l.mu.Lock()
	defer l.mu.Unlock()
	if alone {
		if l.stated == 0 && l.stray(time.Now()) {
			w.log.Info("provider refused one request with 429; the rate holds unless 429s go on",
				"bucket", b.Name, "retry_after", pe.RetryAfter)
			w.strayToBucket(b.Name)
			return
		}
		p.pauseFor(pause)
	}
	if time.Since(l.refused) < refusedGap && pe.RetryAfter <= 0 {
		return
	}
	if pe.RetryAfter <= 0 && b.Limited && !b.Operator {
		// 429s again within a second of the last: the provider's window has
		// not reset yet (a rate well above its limit fills the window early,
		// and 100 ms pauses met it again and again, two sidecars' worth of
		// refusals each time). Each one doubles the pause, up to a second.
		if time.Since(l.refused) < time.Second {
			l.streak = min(l.streak+1, 4)
		} else {
			l.streak = 0
		}
		pause = min(learnedThrottle<<l.streak, defaultThrottle)
		p.pauseFor(pause)
	}
	l.refused = time.Now()
	ctx, cancel := context.WithTimeout(w.hard, 5*time.Second)
	defer cancel()
	if b.Operator {
		err = w.store.Throttle(ctx, b.Name, pause)
	} else {
		// What the provider accepted from this sidecar lately, even none:
		// the bucket sums every sidecar's count into its guess at the limit.
		now := time.Now()
		err = w.store.RateRefused(ctx, b.Name, float64(max(p.sentLately(now)-1, 0)), pause) // less this request
		if err == nil && !b.Limited {
			// The first guess: the requests this sidecar had in flight,
			// sent before this one, were accepted but have not answered
			// yet. Say again once they have, within the pause.
			time.AfterFunc(firstGuessRecount, func() {
				ctx, cancel := context.WithTimeout(w.hard, 5*time.Second)
				defer cancel()
				if err := w.store.RateRefused(ctx, b.Name, float64(p.accepted.secondBefore(now)), 0); err != nil && ctx.Err() == nil {
					w.log.Warn("could not record what the provider accepted", "bucket", b.Name, "error", err)
				}
			})
		}
	}
	if err != nil {
		w.log.Warn("could not throttle the rate-limit bucket", "bucket", b.Name, "error", err)
		return
	}
	w.log.Warn("provider rate limit hit: bucket paused for every sidecar", "bucket", b.Name, "pause", pause,
		"learning", !b.Operator)
	if !b.Limited {
		w.ReloadLimits(ctx)
	}
}

// sentLately is what the provider accepted from p in the last second, and
// what is in flight, up to a tenth more: counted when they were sent,
// accepted requests answer a latency later (paced at 96/s with answers in
// 50 ms, the sum of two sidecars' counts said 88). Not more: the slots of a
// busy machine hold their messages longer, and counted in full they let
// the rate rise to 123/s while the sidecars sent 70.
func (p *producer) sentLately(now time.Time) int {
	n := p.accepted.secondBefore(now)
	return n + min(int(p.inflight.Load()), n/10)
}

// pauseFor holds p's claims and unstarted sends back for d from now (or
// longer, if they already are).
func (p *producer) pauseFor(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for old := p.pausedUntil.Load(); old < until && !p.pausedUntil.CompareAndSwap(old, until); old = p.pausedUntil.Load() {
	}
}

// exportRateLimits sets the rate-limit gauges from the buckets.
func (w *Worker) exportRateLimits(ctx context.Context) {
	limits, err := w.store.RateLimits(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not read the rate limits for /metrics", "error", err)
		}
		return
	}
	t := w.m.Tuning
	for _, r := range limits {
		for _, src := range []string{"operator", "learned"} {
			if r.Source == src {
				t.RateLimit.WithLabelValues(r.Bucket, src).Set(r.PerSecond)
			} else {
				t.RateLimit.DeleteLabelValues(r.Bucket, src)
			}
		}
		if r.Learned > 0 {
			t.LearnedRate.WithLabelValues(r.Bucket).Set(r.Learned)
		}
		if r.Concurrency > 0 {
			t.LearnedConcurrency.WithLabelValues(r.Bucket).Set(float64(r.Concurrency))
		} else {
			t.LearnedConcurrency.DeleteLabelValues(r.Bucket)
		}
		bound := func(name string, v float64) {
			if v > 0 {
				t.SearchBound.WithLabelValues(r.Bucket, name).Set(v)
			} else {
				t.SearchBound.DeleteLabelValues(r.Bucket, name)
			}
		}
		bound("refused", r.RefusedRate)
		bound("accepted", r.AcceptedRate)
		state := func(name string, on bool) {
			v := 0.0
			if on {
				v = 1
			}
			t.SearchState.WithLabelValues(r.Bucket, name).Set(v)
		}
		state("trial", r.TrialSince != nil)
		state("ignoring_lone_429s", r.LoneIgnoredUntil != nil)
		state("shared_with_another_client", r.SharedSpentAt != nil)
	}
}

// paced reports whether queue claims through a rate-limit bucket, which then
// paces a message the provider refused for our pace.
func (w *Worker) paced(queue string) bool {
	p, ok := w.producers[queue]
	return ok && p.bucket.Load() != nil
}
