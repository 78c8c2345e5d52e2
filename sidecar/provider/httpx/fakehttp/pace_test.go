package fakehttp_test

import (
	"slices"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// A limiter admits its limit in each one-second window, on the second, and
// counts what it refused by second since the first request.
func TestLimiter_CountsRefusalsBySecond(t *testing.T) {
	t.Parallel()
	l := fakehttp.NewLimiter(fakehttp.Pace{PerSecond: 2})
	t0 := time.Unix(100, 0).Add(500 * time.Millisecond)
	var got []bool
	for _, at := range []time.Duration{0, 100, 200, 300, 600, 700, 2600, 2700, 2800} {
		ok, _, _ := l.Admit(t0.Add(at * time.Millisecond))
		got = append(got, ok)
	}
	// Windows: [100, 101) admits 0 and 100 ms and refuses 200 and 300 ms;
	// [101, 102) admits 600 and 700 ms; [103, 104) refuses the third.
	if want := []bool{true, true, false, false, true, true, true, true, false}; !slices.Equal(got, want) {
		t.Fatalf("admitted %v, want %v", got, want)
	}
	if by, want := l.RefusedBySecond(), []int{2, 0, 1}; !slices.Equal(by, want) {
		t.Fatalf("refused by second %v, want %v", by, want)
	}
	if admitted, refused := l.Counts(); admitted != 6 || refused != 3 {
		t.Fatalf("counts %d admitted, %d refused, want 6 and 3", admitted, refused)
	}
}
