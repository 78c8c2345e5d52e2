package worker

import (
	"testing"
	"time"
)

func TestRetryPolicy_DelayGrowsWithJitterAndCap(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{Base: time.Second, Max: time.Minute}
	for attempt := 1; attempt <= 12; attempt++ {
		nominal := time.Second << (attempt - 1)
		if nominal > time.Minute {
			nominal = time.Minute
		}
		for range 200 {
			d := p.Delay(attempt, 0)
			if d < nominal/2 || d > nominal {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, nominal/2, nominal)
			}
		}
	}
}

func TestRetryPolicy_RetryAfterWinsWhenLonger(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{Base: time.Second, Max: time.Minute}
	if d := p.Delay(1, 90*time.Second); d != 90*time.Second {
		t.Fatalf("delay %s, want the provider's 90s", d)
	}
	if d := p.Delay(3, time.Millisecond); d < 2*time.Second {
		t.Fatalf("a short Retry-After shortened the backoff to %s", d)
	}
}

func TestRetryPolicy_SpreadsRetries(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{Base: time.Second, Max: time.Minute}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[p.Delay(4, 0)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct delays in 50: no jitter", len(seen))
	}
}
