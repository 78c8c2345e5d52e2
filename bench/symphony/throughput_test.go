package main

import (
	"testing"
	"time"
)

// The end of a run is polled often, the middle rarely.
func TestNextPoll(t *testing.T) {
	for _, c := range []struct {
		took        time.Duration
		done, total float64
		want        time.Duration
	}{
		{time.Second, 0, 1000, 50 * time.Millisecond},        // nothing yet: no rate to go by
		{time.Second, 500, 1000, 250 * time.Millisecond},     // a second left: at most 250 ms
		{time.Second, 900, 1000, 27777777 * time.Nanosecond}, // 111 ms left: a quarter of it
		{time.Second, 999, 1000, 5 * time.Millisecond},       // about done: at least 5 ms
		{time.Second, 1000, 1000, 5 * time.Millisecond},
	} {
		if got := nextPoll(c.took, c.done, c.total); got != c.want {
			t.Errorf("nextPoll(%v, %v, %v) = %v, want %v", c.took, c.done, c.total, got, c.want)
		}
	}
}
