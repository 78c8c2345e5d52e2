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

// sim runs a queue with an endless backlog against a provider model, ticking
// the limiter every tuneTick as the tuner does: each slot starts its next
// attempt the moment its last one finishes, and an attempt takes the model's
// latency for the number running when it started.
type sim struct {
	l       *limiter
	m       model
	now     time.Duration
	running []simBatch // attempts in flight, by when they finish
	n       int        // how many are in flight
	done    int
}

type simBatch struct {
	end, took time.Duration
	n         int
}

func (s *sim) latency() time.Duration {
	if s.n <= s.m.capacity {
		return s.m.latency
	}
	return time.Duration(float64(s.m.latency) * float64(s.n) / float64(s.m.capacity))
}

func (s *sim) start(at time.Duration, n int) {
	if n <= 0 {
		return
	}
	s.n += n
	took := s.latency()
	s.running = append(s.running, simBatch{end: at + took, took: took, n: n})
}

// tick runs the model to the next tick and hands the limiter its sample.
func (s *sim) tick() {
	next := s.now + tuneTick
	var smp sample
	for {
		i := -1
		for j, b := range s.running {
			if b.end <= next && (i < 0 || b.end < s.running[i].end) {
				i = j
			}
		}
		if i < 0 {
			break
		}
		b := s.running[i]
		s.running = append(s.running[:i], s.running[i+1:]...)
		s.n -= b.n
		smp.done += b.n
		smp.latency += time.Duration(b.n) * b.took
		s.start(b.end, min(b.n, s.l.limit-s.n))
	}
	s.done += smp.done
	s.now = next
	smp.inflight, smp.waiting, smp.held = s.n, true, true
	s.l.observe(smp, time.Unix(0, 0).Add(s.now))
	s.start(s.now, s.l.limit-s.n)
}

// until ticks until the limit reaches want (or for at most d) and returns how long it took.
func (s *sim) until(want int, d time.Duration) time.Duration {
	from := s.now
	for s.now-from < d && s.l.limit < want {
		s.tick()
	}
	return s.now - from
}

// Slow start grows by completions, as TCP's does by acknowledgements: against
// a provider answering in 300 ms, 16 slots become 1,000 in about six round
// trips. Grown only at the end of windows of two round trips it took over
// 4 s, while a hand-set 1,000 slots sent from the first second.
func TestLimiter_SlowStartDoublesEveryRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		latency time.Duration
		within  time.Duration
	}{
		{300 * time.Millisecond, 2500 * time.Millisecond},
		{80 * time.Millisecond, 1000 * time.Millisecond},
		{20 * time.Millisecond, 1000 * time.Millisecond},
	} {
		s := &sim{l: newLimiter(limitFloor, 1000, limitStart), m: model{latency: c.latency, capacity: 100000}}
		s.start(0, s.l.limit)
		took := s.until(1000, 10*time.Second)
		if s.l.limit < 1000 || took > c.within {
			t.Errorf("at %s: limit %d after %s (%d attempts), want 1000 within %s", c.latency, s.l.limit, took, s.done, c.within)
		}
		t.Logf("at %s: 1000 slots after %s, %d attempts", c.latency, took, s.done)
	}
}

// Growing by completions still stops where latency rises: a provider that
// serves 100 at once and queues the rest.
func TestLimiter_SlowStartStopsWhereLatencyRises(t *testing.T) {
	t.Parallel()
	for _, lat := range []time.Duration{20 * time.Millisecond, 300 * time.Millisecond} {
		s := &sim{l: newLimiter(limitFloor, 1000, limitStart), m: model{latency: lat, capacity: 100}}
		s.start(0, s.l.limit)
		for range 400 { // 10 s
			s.tick()
		}
		if s.l.limit < 60 || s.l.limit > 160 {
			t.Errorf("at %s: limit %d against a provider that serves 100 at once", lat, s.l.limit)
		}
	}
}

// A window whose answers came slower while throughput still grew by more than
// a quarter pauses slow start instead of ending it: at 300 ms, one such window
// (a burst of new connections) at 512 slots left the limit growing by tenths
// from 449 for the rest of a run.
func TestLimiter_SlowStartSurvivesOneSlowWindow(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, 256)
	now = now.Add(650 * time.Millisecond)
	l.update(window{done: 400, latency: 310 * time.Millisecond, elapsed: 650 * time.Millisecond, busy: true}, now)
	if l.limit != 512 {
		t.Fatalf("limit %d, want a doubling to 512", l.limit)
	}
	now = now.Add(925 * time.Millisecond)
	l.update(window{done: 894, latency: 443 * time.Millisecond, elapsed: 925 * time.Millisecond, busy: true}, now)
	if l.limit != 512 || !l.slowStart {
		t.Fatalf("limit %d (slow start %v) after one slow window while throughput grew by half, want 512 in slow start", l.limit, l.slowStart)
	}
	now = now.Add(650 * time.Millisecond)
	l.update(window{done: 1100, latency: 315 * time.Millisecond, elapsed: 650 * time.Millisecond, busy: true}, now)
	if l.limit != 1000 {
		t.Fatalf("limit %d once answers were on time again, want the ceiling 1000", l.limit)
	}
}

// A step of a tenth at 300 ms shows only in the part of a window after the
// added slots' first round trip: the step is kept when it bought what it
// could, not undone for falling short of 5 %.
func TestLimiter_KeepsASlowProvidersStepThatPaid(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, 655)
	l.slowStart = false
	l.minRTT, l.minRTTAt = 306*time.Millisecond, now
	now = now.Add(625 * time.Millisecond)
	l.update(window{done: 1281, latency: 309 * time.Millisecond, elapsed: 625 * time.Millisecond, busy: true}, now)
	if l.limit != 720 {
		t.Fatalf("limit %d, want a step of a tenth to 720", l.limit)
	}
	// 720 slots for 650 ms, the first 306 ms of which still ran at 655.
	now = now.Add(650 * time.Millisecond)
	l.update(window{done: 1387, latency: 321 * time.Millisecond, elapsed: 650 * time.Millisecond, busy: true}, now)
	if l.limit < 720 {
		t.Fatalf("limit %d: the step to 720 was undone though it bought 4 %% in a window half of which it could not show in", l.limit)
	}
}

// Slower answers while throughput still grew by a tenth cost half the cut;
// slower answers with throughput flat (a queue) cost all of it.
func TestLimiter_HalvesTheCutWhileThroughputGrows(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 1000, 1000)
	l.slowStart = false
	l.minRTT, l.minRTTAt = 300*time.Millisecond, now
	now = now.Add(650 * time.Millisecond)
	l.update(window{done: 1500, latency: 310 * time.Millisecond, elapsed: 650 * time.Millisecond, busy: true}, now)
	// target 380 ms; at 760 ms the full cut is to half.
	now = now.Add(650 * time.Millisecond)
	l.update(window{done: 1800, latency: 760 * time.Millisecond, elapsed: 650 * time.Millisecond, busy: true}, now)
	if l.limit != 750 {
		t.Fatalf("limit %d after a slow window in which throughput grew by a fifth, want 750 (half the cut)", l.limit)
	}
	now = now.Add(650 * time.Millisecond)
	l.update(window{done: 1800, latency: 760 * time.Millisecond, elapsed: 650 * time.Millisecond, busy: true}, now)
	if l.limit != 375 {
		t.Fatalf("limit %d after a slow window with throughput flat, want 375 (the full cut)", l.limit)
	}
}

// While cautious (a provider that states no rate limit, none known yet), slow
// start begins at the floor and doubles at most once a second: what two
// sidecars have in flight when such a provider's window fills is refused.
// Once a rate is known it doubles every round trip again.
func TestLimiter_CautiousSlowStartDoublesOnceASecond(t *testing.T) {
	t.Parallel()
	s := &sim{l: newLimiter(limitFloor, 1000, limitStart), m: model{latency: 50 * time.Millisecond, capacity: 100000}}
	s.l.caution(true, time.Unix(0, 0))
	if s.l.limit != limitFloor {
		t.Fatalf("limit %d when caution began, want the floor (%d)", s.l.limit, limitFloor)
	}
	s.start(0, s.l.limit)
	var limits []int
	for range 4 {
		for range int(time.Second / tuneTick) {
			s.tick()
		}
		limits = append(limits, s.l.limit)
	}
	// Once a second: 8, 16, 32, 64 (a tick late at most).
	for i, got := range limits {
		if want := limitFloor << (i + 1); got > want {
			t.Fatalf("limits %v at each second, want at most %d at second %d", limits, want, i+1)
		}
	}
	if limits[3] < 4*limitFloor {
		t.Fatalf("limits %v at each second: caution stopped slow start", limits)
	}
	s.l.caution(false, time.Unix(0, 0).Add(s.now))
	if took := s.until(1000, 5*time.Second); s.l.limit < 1000 || took > time.Second {
		t.Fatalf("limit %d %s after caution ended, want 1000 within a second (every round trip)", s.l.limit, took)
	}
	// Caution again (another bucket's rate was removed, say) does not cut a
	// limit that slow start already left.
	s.l.slowStart = false
	s.l.caution(true, time.Unix(0, 0).Add(s.now))
	if s.l.limit < 1000 {
		t.Fatalf("limit %d: caution cut a limit outside slow start", s.l.limit)
	}
}

// The account's share (capAt) bounds the limit below the ceiling, over the
// floor too, and growth resumes up to the new bound when it moves.
func TestLimiter_StaysWithinTheAccountsShare(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(limitFloor, 200, limitStart)
	m := model{latency: 50 * time.Millisecond, capacity: 1000}
	if fell := l.capAt(3); !fell || l.limit != 3 {
		t.Fatalf("capAt(3) from %d: fell %v, limit %d; want the limit at 3, below the floor of %d", limitStart, fell, l.limit, limitFloor)
	}
	if limits := run(l, m, &now, 20); l.limit != 3 {
		t.Fatalf("limits %v under a share of 3", limits)
	}
	l.capAt(10)
	if limits := run(l, m, &now, 20); l.limit != 10 {
		t.Fatalf("limits %v after the share rose to 10, want 10", limits)
	}
	l.capAt(0)
	if limits := run(l, m, &now, 20); l.limit <= 10 {
		t.Fatalf("limits %v with no share, want growth past 10", limits)
	}
}

// A 429 answers at once: its duration is not the provider's latency. Ten
// refusals among twenty attempts of 100 ms leave the latency at 100 ms; in
// the mean they made it 50 ms, and every later window looked twice as slow
// as the provider is.
func TestLimiter_RefusalsAreNotLatency(t *testing.T) {
	t.Parallel()
	start := time.Unix(0, 0)
	l := newLimiter(limitFloor, 200, limitStart)
	l.observe(sample{}, start)
	l.observe(sample{done: 20, dropped: 10, refused: 10, latency: 10 * 100 * time.Millisecond, inflight: 16, held: true},
		start.Add(10*time.Millisecond))
	w, ended := l.observe(sample{held: true, inflight: 16}, start.Add(250*time.Millisecond))
	if !ended {
		t.Fatal("the window did not end")
	}
	if w.latency != 100*time.Millisecond || l.minRTT != 100*time.Millisecond {
		t.Fatalf("window latency %s, lowest latency %s; want 100ms for both", w.latency, l.minRTT)
	}
}
