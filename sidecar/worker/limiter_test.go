package worker

import (
	"testing"
	"time"
)

// provider is a model of a provider for the limiter: each request takes
// latency while fewer than capacity run at once; beyond that, requests queue
// and latency grows in proportion (a saturated server). Overloaded, it
// refuses a share of requests.
type model struct {
	latency  time.Duration
	capacity int
	refuse   float64 // share refused once over capacity
}

// window is what the limiter sees after running limit at once for d.
func (m model) window(limit int, d time.Duration) window {
	lat := m.latency
	if limit > m.capacity {
		lat = time.Duration(float64(m.latency) * float64(limit) / float64(m.capacity))
	}
	done := int(float64(limit) * d.Seconds() / lat.Seconds())
	dropped := 0
	if limit > m.capacity {
		dropped = int(float64(done) * m.refuse)
	}
	return window{done: done, dropped: dropped, latency: lat, elapsed: d, busy: true}
}

// run feeds the limiter n windows of m and returns its limits.
func run(l *limiter, m model, now *time.Time, n int) []int {
	var out []int
	for range n {
		d := l.windowLength()
		*now = now.Add(d)
		out = append(out, l.update(m.window(l.limit, d), *now))
	}
	return out
}

func TestLimiter_GrowsQuicklyWhileLatencyHolds(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, limitStart)
	limits := run(l, model{latency: 80 * time.Millisecond, capacity: 400}, &now, 12)
	// 16 → 400 needs five doublings: about two seconds of windows of 240 ms.
	if got := l.limit; got < 360 || got > 520 {
		t.Fatalf("limit %d after %v, want about 400 (the provider's capacity)", got, limits)
	}
	if now.Sub(time.Unix(0, 0)) > 3*time.Second {
		t.Fatalf("took %s to find the provider's capacity", now.Sub(time.Unix(0, 0)))
	}
}

func TestLimiter_StaysUnderTheCeiling(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 50, limitStart)
	run(l, model{latency: 20 * time.Millisecond, capacity: 10000}, &now, 20)
	if l.limit != 50 {
		t.Fatalf("limit %d, want the ceiling 50", l.limit)
	}
}

func TestLimiter_BacksOffOnRefusalsAndTimeouts(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, 200)
	l.slowStart = false
	before := l.limit
	now = now.Add(time.Second)
	l.update(window{done: 100, dropped: 5, latency: 20 * time.Millisecond, elapsed: 100 * time.Millisecond, busy: true}, now)
	if l.limit >= before*8/10 {
		t.Fatalf("limit %d after 5 %% of attempts failed from overload, was %d", l.limit, before)
	}
	for range 50 {
		now = now.Add(time.Second)
		l.update(window{done: 100, dropped: 50, latency: 20 * time.Millisecond, elapsed: 100 * time.Millisecond, busy: true}, now)
	}
	if l.limit != limitFloor {
		t.Fatalf("limit %d under constant refusals, want the floor %d", l.limit, limitFloor)
	}
}

// A provider failing outright (every attempt a 5xx) halves the limit each
// window; a few failures among successes cut it by a quarter.
func TestLimiter_HalvesWhenTheProviderFailsOutright(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, 512)
	l.slowStart = false
	for _, want := range []int{256, 128, 64} {
		now = now.Add(time.Second)
		l.update(window{done: 100, dropped: 100, latency: 500 * time.Millisecond, elapsed: time.Second, busy: true}, now)
		if l.limit != want {
			t.Fatalf("limit %d after a window of failures, want %d", l.limit, want)
		}
	}
	now = now.Add(time.Second)
	l.update(window{done: 100, dropped: 10, latency: 500 * time.Millisecond, elapsed: time.Second, busy: true}, now)
	if l.limit != 48 {
		t.Fatalf("limit %d after a window with 10 %% failures, want 48", l.limit)
	}
}

func TestLimiter_BacksOffWhenLatencyRises(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, limitStart)
	// The provider saturates at 100 at once: above that, requests only queue.
	run(l, model{latency: 50 * time.Millisecond, capacity: 100}, &now, 40)
	if l.limit > 150 || l.limit < 60 {
		t.Fatalf("limit %d against a provider that serves 100 at once", l.limit)
	}
}

func TestLimiter_RecoversWhenTheProviderSpeedsUpAgain(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, limitStart)
	run(l, model{latency: 50 * time.Millisecond, capacity: 400}, &now, 20)
	high := l.limit
	// An outage: timeouts and refusals drive the limit down.
	run(l, model{latency: 500 * time.Millisecond, capacity: 10, refuse: 0.5}, &now, 20)
	low := l.limit
	if low > high/4 {
		t.Fatalf("limit %d during the outage, was %d", low, high)
	}
	// Healthy again: the limit climbs back (additively, slow start is over).
	limits := run(l, model{latency: 50 * time.Millisecond, capacity: 400}, &now, 200)
	if l.limit < high*8/10 {
		t.Fatalf("limit %d after recovery, was %d before the outage; went %v", l.limit, high, limits)
	}
}

func TestLimiter_UndoesAStepThatBoughtNothing(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, 64)
	// 64 at once give 6,400/s at 10 ms; the CPU allows no more, so twice
	// as many take twice as long each.
	now = now.Add(100 * time.Millisecond)
	l.update(window{done: 640, latency: 10 * time.Millisecond, elapsed: 100 * time.Millisecond, busy: true}, now)
	if l.limit != 128 {
		t.Fatalf("limit %d, want a doubling to 128", l.limit)
	}
	now = now.Add(100 * time.Millisecond)
	l.update(window{done: 650, latency: 19 * time.Millisecond, elapsed: 100 * time.Millisecond, busy: true}, now)
	if l.limit != 64 || l.slowStart {
		t.Fatalf("limit %d (slow start %v), want the step undone: 64", l.limit, l.slowStart)
	}
}
