package worker

import (
	"testing"
	"time"
)

// A producer slow to come round takes many notifications in one wake-up; the
// queue is busy by the notifications, not by how often the producer woke.
func TestWakeMode_CountsNotificationsNotWakeUps(t *testing.T) {
	now := time.Now()
	m := wakeMode{listening: true}
	if m.woken(now, busyWakes-1) {
		t.Fatalf("busy after %d notifications, want %d", busyWakes-1, busyWakes)
	}
	if !m.woken(now.Add(time.Millisecond), 1) {
		t.Fatalf("not busy after %d notifications in %s", busyWakes, time.Millisecond)
	}

	// Spread over more than the window, they never add up to busy.
	m = wakeMode{listening: true}
	for i := range 3 * busyWakes {
		if m.woken(now.Add(time.Duration(i)*busyWindow), 1) {
			t.Fatalf("busy at one notification per %s", busyWindow)
		}
	}

	// A wake-up with no count (the tick) still counts once; a polling queue
	// is never told to stop listening again.
	m = wakeMode{}
	for i := range 2 * busyWakes {
		if m.woken(now.Add(time.Duration(i)), 0) {
			t.Fatal("a queue that is not listening was told to stop")
		}
	}
	if m.wakes != 2*busyWakes {
		t.Fatalf("%d wake-ups with no count counted %d", 2*busyWakes, m.wakes)
	}
}
