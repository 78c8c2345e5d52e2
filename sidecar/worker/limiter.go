package worker

import "time"

// limiter decides how many of a queue's messages run at once: the queue's
// concurrency limit, between floor and ceiling (SYMPHONY_QUEUES).
//
// It is a delay-based controller in the family of TCP Vegas and Netflix's
// gradient limiters, with TCP's slow start in front. Each window it compares
// the mean attempt duration with the lowest seen lately (the provider's
// no-load latency); the target is 1.25× that, plus 5 ms of slack for
// scheduling noise:
//
//   - while every slot was busy and latency is within the target, the limit
//     grows: at first by one for each attempt finished on time, checked
//     every tick (slow start, doubling every round trip; see observe), by a
//     tenth a window once growth stopped paying;
//   - if a growth step bought no throughput (completions per second up by less
//     than 5 %) while latency rose, the step is undone, slow start ends, and
//     the limit holds for ten windows: the extra slots only queued, at the
//     provider or for the CPU;
//   - above the target, the limit shrinks in proportion (gradient: limit ×
//     target / latency, at most by half), so it settles where a quarter of
//     the no-load latency is queueing; by half that while throughput still
//     grows;
//   - timeouts, 5xx, 429 and transport errors (drops) cut it by a quarter,
//     or by half when they are a quarter of the window's attempts or more (a
//     provider failing outright: at a quarter a window, a limit grown to a
//     few hundred slots took longer to fall than 1,500 failures lasted, and
//     the failures kept coming at full concurrency); once they stop, it doubles back up to the highest limit that worked in
//     the last minute (as TCP's slow start returns to its threshold), then
//     grows by tenths again.
//
// Why not AIMD alone: it reacts to drops only, and a provider that slows down
// under load without refusing would see every slot filled. Why not Vegas's or
// gradient2's additive steps alone: from 16 slots to the 400 a provider
// answering in 80 ms needs would take minutes; slow start takes a second.
// The lowest latency is forgotten every 30 s (re-measured from the current
// window), so a provider that became slower for good becomes the new
// baseline, and one that speeds up again lowers it at once.
type limiter struct {
	floor, ceiling int
	// account, when above 0, bounds the limit below the ceiling: this
	// sidecar's share of the provider account's concurrency (capAt).
	account   int
	limit     int
	slowStart bool
	// cautious: the provider states no rate limit and none is known yet
	// (see caution).
	cautious bool

	minRTT   time.Duration
	minRTTAt time.Time

	// The previous window's throughput, and the limit before the last
	// growth step (0: the last step was not a growth).
	lastRate  float64
	grewFrom  int
	grewRTT   time.Duration
	holdUntil time.Time
	// good is the highest limit of a healthy window (no drops, latency on
	// target) in the last goodMemory, and when it was last confirmed.
	good   int
	goodAt time.Time

	// The window being measured (see observe): its start, the limit then,
	// what finished in it so far, and the last tick.
	winStart time.Time
	winFrom  int
	acc      sample
	// Slow start doubles at most every slowStartDoubling: from mark, the
	// limit at markAt.
	mark   int
	markAt time.Time
}

// sample is what a tick of the tuner saw: attempts finished since the last
// tick, and the queue's state now.
type sample struct {
	done, dropped int
	refused       int           // of them, 429s (counted in dropped too)
	latency       time.Duration // the sum of their durations, 429s left out
	// attempts running now: slow start grows only while they fill the
	// slots (messages merely waiting in the work channel, a claim handed
	// over an instant ago, say nothing: a CPU-bound handler's slots drain
	// a claim of 500 in a millisecond)
	inflight int
	waiting  bool // claimed messages wait for a slot
	held     bool // messages in hand, running or waiting
}

// slowStartDoubling is the shortest time in which slow start may double the
// limit: a provider answering faster than that (the log provider, a CPU-bound
// handler) would otherwise see the limit shoot to the ceiling between two
// windows, before a window can tell whether the growth bought anything.
const slowStartDoubling = 100 * time.Millisecond

// cautiousDoubling is slowStartDoubling while the limiter is cautious.
const cautiousDoubling = time.Second

// goodMemory is how long a limit that worked is worth returning to quickly.
const goodMemory = time.Minute

// window is one measurement: attempts finished since the last one.
type window struct {
	done    int           // attempts finished
	dropped int           // of which overload signs: timeouts, 5xx, 429, transport errors
	latency time.Duration // their mean duration, 429s left out (0: all were 429s)
	elapsed time.Duration
	busy    bool // the limit bound: slots were all in use, or work waited for one
}

const (
	// rttMemory is how long the lowest latency is trusted before it is
	// measured afresh.
	rttMemory = 30 * time.Second
	// latencySlack is added to every latency comparison: below it, a
	// difference is scheduling noise, not a queue. At 1 ms, a loopback
	// provider answering in half a millisecond on a busy machine drove the
	// limit to its floor, and the wake-latency benchmark's 2,000 msgs/s
	// queued for seconds in the database, where the limiter cannot see.
	latencySlack = 5 * time.Millisecond
)

func newLimiter(floor, ceiling, start int) *limiter {
	floor = max(1, min(floor, ceiling))
	l := &limiter{floor: floor, ceiling: ceiling, limit: min(max(start, floor), ceiling), slowStart: true}
	l.winFrom = l.limit
	return l
}

// observe takes a tick's sample and reports the window's measurement once
// the window is over (ended), after updating the limit from it.
//
// During slow start the limit also grows between windows, as TCP's window
// does per acknowledgement: by one for each attempt that finished on time
// while the slots were all in use, so that it doubles every round trip
// (at most every slowStartDoubling). Grown only at the end of windows of two
// round trips, a provider answering in 300 ms took 4 s to go from 16 to
// 1,000 slots.
func (l *limiter) observe(s sample, now time.Time) (w window, ended bool) {
	if l.winStart.IsZero() {
		l.winStart, l.winFrom = now, l.limit
		return window{}, false
	}
	l.acc.done += s.done
	l.acc.dropped += s.dropped
	l.acc.refused += s.refused
	l.acc.latency += s.latency
	if l.slowStart && s.done > 0 && s.dropped == 0 && l.limit < l.top() && !now.Before(l.holdUntil) &&
		float64(s.inflight) >= 0.7*float64(l.limit) &&
		(l.minRTT == 0 || s.latency/time.Duration(s.done) <= l.target()) {
		if now.Sub(l.markAt) >= l.doubling() {
			l.mark, l.markAt = l.limit, now
		}
		l.set(min(l.limit+s.done, 2*l.mark))
	}
	elapsed := now.Sub(l.winStart)
	if elapsed < l.windowLength() {
		return window{}, false
	}
	// A window spans at least two of its own mean attempts, so that slots
	// added at its start have finished something within it; while work is
	// in flight and nothing has finished, it goes on (up to maxWindow).
	d := l.acc.done
	var mean time.Duration // of the attempts timed: 429s are not
	if timed := d - l.acc.refused; timed > 0 {
		mean = l.acc.latency / time.Duration(timed)
	}
	if elapsed < maxWindow && ((d == 0 && s.held) || (d > 0 && elapsed < 2*mean)) {
		return window{}, false
	}
	if d > 0 {
		// Little's law: the mean number running over the window (a 429
		// runs next to nothing).
		running := float64(l.acc.latency) / float64(elapsed)
		w = window{done: d, dropped: l.acc.dropped, latency: mean, elapsed: elapsed,
			busy: running >= 0.7*float64(l.limit) || s.waiting}
	}
	l.update(w, now)
	l.winStart, l.acc = now, sample{}
	return w, true
}

// caution says whether the queue's provider states no rate limit while none
// is known yet (its bucket has no rate in force). A provider that says
// nothing of its limit refuses whatever is in flight when its window fills:
// two sidecars starting at 16 slots each against one that allowed 100
// requests a second, answering in 50 ms, had 21-32 requests refused in the
// first second, where 4 slots each had 0-4. So while cautious, slow start
// begins at the floor and doubles at most once a second (cautiousDoubling):
// 4, 8, 16, 32 ... slots, a few seconds more to reach a fast provider's
// pace, once per process. The first 429 teaches the bucket a rate, which
// paces the queue from then on, and caution ends.
func (l *limiter) caution(on bool, now time.Time) {
	if on && !l.cautious && l.slowStart && l.limit > l.floor {
		// At the floor for the first second: a doubling from mark may come
		// at once, so mark is half the limit until then.
		l.set(l.floor)
		l.mark, l.markAt = l.limit/2, now
	}
	l.cautious = on
}

// doubling is the shortest time in which slow start may double the limit.
func (l *limiter) doubling() time.Duration {
	if l.cautious {
		return cautiousDoubling
	}
	return slowStartDoubling
}

// target is the latency below which the limit may grow: the provider's
// no-load latency plus a quarter, plus latencySlack.
func (l *limiter) target() time.Duration { return l.minRTT + l.minRTT/4 + latencySlack }

// update takes a window's measurement and returns the new limit.
func (l *limiter) update(w window, now time.Time) int {
	// The limit the window ran at (slow start may have grown it since), and
	// what the limit was before the step evaluated now.
	from := min(l.winFrom, l.limit)
	defer func() { l.winFrom = l.limit }()
	if w.done == 0 || w.elapsed <= 0 {
		return l.limit
	}
	rate := float64(w.done) / w.elapsed.Seconds()
	if w.latency > 0 && (l.minRTT == 0 || w.latency < l.minRTT || now.Sub(l.minRTTAt) > rttMemory) {
		l.minRTT, l.minRTTAt = w.latency, now
	}
	grewFrom, grewRTT, lastRate := l.grewFrom, l.grewRTT, l.lastRate
	l.grewFrom, l.lastRate = 0, rate
	target := l.target()
	switch {
	case w.dropped > 0 && w.dropped*4 >= w.done: // a quarter or more: failing outright
		l.slowStart = false
		l.set(l.limit / 2)
	case w.dropped > 0 && w.dropped*100 >= w.done: // 1 % or more
		l.slowStart = false
		l.set(l.limit * 3 / 4)
	case grewFrom > 0 && rate < lastRate*(1+gainExpected(from, grewFrom, w.elapsed, l.minRTT)) && w.latency > grewRTT+latencySlack:
		// The last step bought nothing and cost latency: undo it.
		l.slowStart = false
		l.set(grewFrom)
		l.holdUntil = now.Add(10 * l.windowLength())
	case l.slowStart && w.latency > target && lastRate > 0 && rate >= lastRate*1.25:
		// Slower answers while throughput still grows by a quarter: not a
		// queue yet (a burst of new connections, a busy moment of the
		// machine). Slow start pauses for this window instead of ending: one
		// such window at 512 slots left a 300 ms provider growing by tenths
		// from 449, and at a third of the throughput it could give for 7 s.
		if l.limit > from {
			l.grewFrom, l.grewRTT = from, w.latency
		}
	case w.latency > target:
		l.slowStart = false
		cut := max(0.5, float64(target)/float64(w.latency))
		if lastRate > 0 && rate >= lastRate*1.1 {
			// Throughput still grew by a tenth: the provider served the
			// added slots, and the slower answers are as likely a moment of
			// the machine (hundreds of new connections opened at once, a
			// collection) as a queue. Half the cut; a queue shows again in
			// the next window, with throughput flat, and gets the rest. At
			// 300 ms, one such window took 927 slots to 502 and the queue
			// spent seconds growing back by tenths.
			cut = (1 + cut) / 2
		}
		l.set(int(float64(l.limit) * cut))
	case w.busy && !now.Before(l.holdUntil) && l.limit < l.top():
		l.healthy(now, from)
		switch {
		case l.slowStart && l.cautious:
			// Only the ticks grow it, once a second (see caution).
		case l.slowStart:
			l.set(max(l.limit, from*2)) // what the window's ticks did not grow already
		case l.limit < l.good:
			l.set(min(l.limit*2, l.good))
		default:
			l.set(l.limit + max(1, l.limit/10))
		}
		l.grewFrom, l.grewRTT = from, w.latency
	default:
		l.healthy(now, from)
		if l.limit > from {
			l.grewFrom, l.grewRTT = from, w.latency
		}
	}
	return l.limit
}

// gainExpected is the least throughput gain (a fraction) for which a step
// from grewFrom to limit counts as having bought something, measured over a
// window of elapsed: half of what the step should bring, at most 5 %. The
// first round trip of a window shows nothing of a step made at its start (the
// added slots' first attempts are still running), so a step of a tenth at
// 300 ms showed only about 5 % in a window of 650 ms, and was undone as
// often as not.
func gainExpected(limit, grewFrom int, elapsed, rtt time.Duration) float64 {
	if elapsed <= rtt || limit <= grewFrom {
		return 0.05
	}
	step := float64(limit)/float64(grewFrom) - 1
	return min(0.05, step*float64(elapsed-rtt)/float64(elapsed)/2)
}

// healthy records that limit, the one a window ran at, worked (not what
// slow start grew it to since: those slots show in the next window).
func (l *limiter) healthy(now time.Time, limit int) {
	if now.Sub(l.goodAt) > goodMemory {
		l.good = 0
	}
	l.good, l.goodAt = max(l.good, limit), now
}

func (l *limiter) set(n int) { l.limit = min(max(n, l.floor), l.top()) }

// top is the most the limit may be: the ceiling, or the account's share
// when lower (which wins over the floor too).
func (l *limiter) top() int {
	if l.account > 0 {
		return min(l.ceiling, l.account)
	}
	return l.ceiling
}

// capAt bounds the limit at n, this sidecar's share of the provider
// account's concurrency (0: no bound), and reports whether the limit fell.
func (l *limiter) capAt(n int) bool {
	l.account = n
	if top := l.top(); l.limit > top {
		l.limit = top
		return true
	}
	return false
}

// windowLength is how long to measure before the next update: long enough
// for a few attempts at the lowest latency seen.
func (l *limiter) windowLength() time.Duration {
	return max(100*time.Millisecond, 2*l.minRTT)
}
