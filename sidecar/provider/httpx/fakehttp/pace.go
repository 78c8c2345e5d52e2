package fakehttp

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Pace is how a fake paces its answers, for tests and benchmarks of the
// sidecar's own pacing: a rate limit counted as providers count it, in fixed
// one-second windows starting on the second, and a fixed answer time.
type Pace struct {
	// PerSecond is how many requests each window admits; the rest are
	// refused with the provider's 429. 0: no limit, and no rate-limit
	// headers on successful answers.
	PerSecond int
	// Latency is how long every admitted request waits before its answer.
	Latency time.Duration
}

// Limiter enforces a Pace. The zero value (and nil) admits everything at once.
type Limiter struct {
	pace Pace

	mu       sync.Mutex
	window   time.Time // start of the current window
	used     int
	admitted int
	refused  int
	first    time.Time // when the first request came
	// refusedBy[i]: refused in the i-th second after the first request
	refusedBy []int
}

// NewLimiter returns a Limiter for p.
func NewLimiter(p Pace) *Limiter { return &Limiter{pace: p} }

// Limited reports whether a rate limit is enforced (and should be stated).
func (l *Limiter) Limited() bool { return l.Limit() > 0 }

// Limit is the requests each window admits (0: unlimited).
func (l *Limiter) Limit() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pace.PerSecond
}

// SetLimit makes each window from the next on admit perSecond requests (0:
// no limit): a provider that raised the account's plan, or lowered it.
func (l *Limiter) SetLimit(perSecond int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pace.PerSecond = perSecond
}

// Admit counts a request arriving at now. ok false: refuse it. remaining is
// what the window has left after it, reset how long until the window ends.
func (l *Limiter) Admit(now time.Time) (ok bool, remaining int, reset time.Duration) {
	if l == nil {
		return true, 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pace.PerSecond <= 0 {
		return true, 0, 0
	}
	if l.first.IsZero() {
		l.first = now
	}
	start := now.Truncate(time.Second)
	if !start.Equal(l.window) {
		l.window, l.used = start, 0
	}
	reset = start.Add(time.Second).Sub(now)
	if l.used >= l.pace.PerSecond {
		l.refused++
		i := int(now.Sub(l.first) / time.Second)
		for len(l.refusedBy) <= i {
			l.refusedBy = append(l.refusedBy, 0)
		}
		l.refusedBy[i]++
		return false, 0, reset
	}
	l.used++
	l.admitted++
	return true, l.pace.PerSecond - l.used, reset
}

// Counts returns how many requests were admitted and refused so far.
func (l *Limiter) Counts() (admitted, refused int) {
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.admitted, l.refused
}

// RefusedBySecond is how many requests were refused in each second after
// the first request, from the first second (before the sender could know
// the limit) to the last one with a refusal.
func (l *Limiter) RefusedBySecond() []int {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.refusedBy)
}

// Delay waits the pace's latency; false if ctx ended first.
func (l *Limiter) Delay(ctx context.Context) bool {
	if l == nil {
		return true
	}
	return Wait(ctx, l.pace.Latency)
}

// Window is a request's view of the rate-limit window it arrived in.
type Window struct {
	Limit     int           // requests a window admits (0: unlimited)
	Remaining int           // what the window has left after this request
	Reset     time.Duration // until the window ends
	Refused   bool          // over the limit: answer 429
}

// ResetSeconds is Reset in whole seconds, rounded up, at least 1: what a
// Retry-After or ratelimit-reset header says.
func (w Window) ResetSeconds() string {
	return strconv.Itoa(max(1, int((w.Reset+time.Second-1)/time.Second)))
}

// Gate admits r under the pace and, if admitted, waits the pace's latency.
// gone is true when the client went away meanwhile: answer nothing.
func (l *Limiter) Gate(r *http.Request) (win Window, gone bool) {
	ok, remaining, reset := l.Admit(time.Now())
	win = Window{Limit: l.Limit(), Remaining: remaining, Reset: reset, Refused: !ok}
	if ok && !l.Delay(r.Context()) {
		return win, true
	}
	return win, false
}
