package worker

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides how long a failed attempt waits before the next one: the
// one place retry timing is decided.
type RetryPolicy struct {
	Base time.Duration // delay after the first failed attempt, before jitter
	Max  time.Duration // cap on any delay, before a provider's own Retry-After
}

// Delay returns the wait after failed attempt number attempt (1-based):
// exponential (Base·2^(attempt-1), capped at Max) with "equal jitter", so
// sidecars retrying together spread out but never retry sooner than half the
// nominal delay. A provider's Retry-After wins when it asks for longer.
func (p RetryPolicy) Delay(attempt int, retryAfter time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	if half := d / 2; half > 0 {
		d = half + rand.N(half+1)
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}
