package httpx

import (
	"testing"
	"time"
)

func TestBackoffStaysWithinBounds(t *testing.T) {
	t.Parallel()
	min, max := 100*time.Millisecond, time.Second
	for attempt := range 10 {
		base := min << attempt
		if base > max || base <= 0 {
			base = max
		}
		for range 50 {
			d := backoff(min, max, attempt, nil)
			if d < base*3/4 || d > base*5/4 {
				t.Fatalf("backoff(attempt %d) = %v, want within ±25%% of %v", attempt, d, base)
			}
		}
	}
}
