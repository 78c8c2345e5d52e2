package worker

import (
	"testing"
	"time"
)

// A meter counts the whole second before a moment: a thousand events a
// second, one a millisecond, are a thousand wherever the moment falls in a
// tenth. (It counted whole tenths only, and the current one: 950 on average,
// and a guess at a provider's limit came out that much low.)
func TestMeter_CountsTheWholeSecondBefore(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	for _, offset := range []time.Duration{0, 30 * time.Millisecond, 50 * time.Millisecond, 99 * time.Millisecond} {
		var m meter
		at := base.Add(2*time.Second + offset)
		for ev := at.Add(-1500 * time.Millisecond); !ev.After(at); ev = ev.Add(time.Millisecond) {
			m.add(ev)
		}
		if got := m.secondBefore(at); got < 995 || got > 1005 {
			t.Errorf("at %s into a tenth: %d events in the second before, want 1000", offset, got)
		}
		// Half a second later, with a few more events (what was in flight
		// when a 429 paused the sidecar): the second before the moment is
		// still there to count.
		for ev := at.Add(time.Millisecond); ev.Before(at.Add(500 * time.Millisecond)); ev = ev.Add(50 * time.Millisecond) {
			m.add(ev)
		}
		if got := m.secondBefore(at); got < 995 || got > 1005 {
			t.Errorf("at %s into a tenth, half a second later: %d events in the second before it, want 1000", offset, got)
		}
	}
}

// An event counted when it was sent may come in after later ones: one older
// than the meter holds is dropped, not counted into a later tenth.
func TestMeter_DropsEventsOlderThanItHolds(t *testing.T) {
	var m meter
	now := time.Unix(1_800_000_000, 0)
	for i := range 10 {
		m.add(now.Add(-time.Duration(i) * 100 * time.Millisecond))
	}
	m.add(now.Add(-2 * time.Second)) // the same slot as now's tenth, two seconds back
	if got := m.secondBefore(now); got != 10 {
		t.Errorf("%d events in the last second, want 10", got)
	}
	m.add(now.Add(-300 * time.Millisecond))
	if got := m.secondBefore(now); got != 11 {
		t.Errorf("%d events in the last second after a late one, want 11", got)
	}
}
