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
//     grows: doubling at first (slow start), by a tenth once growth stopped
//     paying;
//   - if a growth step bought no throughput (completions per second up by less
//     than 5 %) while latency rose, the step is undone, slow start ends, and
//     the limit holds for ten windows: the extra slots only queued, at the
//     provider or for the CPU;
//   - above the target, the limit shrinks in proportion (gradient: limit ×
//     target / latency, at most by half), so it settles where a quarter of
//     the no-load latency is queueing;
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
	limit          int
	slowStart      bool

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
}

// goodMemory is how long a limit that worked is worth returning to quickly.
const goodMemory = time.Minute

// window is one measurement: attempts finished since the last one.
type window struct {
	done    int           // attempts finished
	dropped int           // of which overload signs: timeouts, 5xx, 429, transport errors
	latency time.Duration // their mean duration
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
	return &limiter{floor: floor, ceiling: ceiling, limit: min(max(start, floor), ceiling), slowStart: true}
}

// update takes a window's measurement and returns the new limit.
func (l *limiter) update(w window, now time.Time) int {
	if w.done == 0 || w.elapsed <= 0 {
		return l.limit
	}
	rate := float64(w.done) / w.elapsed.Seconds()
	if l.minRTT == 0 || w.latency < l.minRTT || now.Sub(l.minRTTAt) > rttMemory {
		l.minRTT, l.minRTTAt = w.latency, now
	}
	grewFrom, grewRTT, lastRate := l.grewFrom, l.grewRTT, l.lastRate
	l.grewFrom, l.lastRate = 0, rate
	target := l.minRTT + l.minRTT/4 + latencySlack
	switch {
	case w.dropped > 0 && w.dropped*4 >= w.done: // a quarter or more: failing outright
		l.slowStart = false
		l.set(l.limit / 2)
	case w.dropped > 0 && w.dropped*100 >= w.done: // 1 % or more
		l.slowStart = false
		l.set(l.limit * 3 / 4)
	case grewFrom > 0 && rate < lastRate*1.05 && w.latency > grewRTT+latencySlack:
		// The last step bought nothing and cost latency: undo it.
		l.slowStart = false
		l.set(grewFrom)
		l.holdUntil = now.Add(10 * l.windowLength())
	case w.latency > target:
		l.slowStart = false
		l.set(int(float64(l.limit) * max(0.5, float64(target)/float64(w.latency))))
	case w.busy && !now.Before(l.holdUntil) && l.limit < l.ceiling:
		l.healthy(now)
		from := l.limit
		switch {
		case l.slowStart:
			l.set(l.limit * 2)
		case l.limit < l.good:
			l.set(min(l.limit*2, l.good))
		default:
			l.set(l.limit + max(1, l.limit/10))
		}
		l.grewFrom, l.grewRTT = from, w.latency
	default:
		l.healthy(now)
	}
	return l.limit
}

// healthy records that the current limit worked.
func (l *limiter) healthy(now time.Time) {
	if now.Sub(l.goodAt) > goodMemory {
		l.good = 0
	}
	l.good, l.goodAt = max(l.good, l.limit), now
}

func (l *limiter) set(n int) { l.limit = min(max(n, l.floor), l.ceiling) }

// windowLength is how long to measure before the next update: long enough
// for a few attempts at the lowest latency seen.
func (l *limiter) windowLength() time.Duration {
	return max(100*time.Millisecond, 2*l.minRTT)
}
