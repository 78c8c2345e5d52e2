package worker

import (
	"math"
	"sync"
	"time"
)

// meter counts events over the last two seconds, in tenths of a second: how
// many requests a provider accepted from this sidecar lately (counted when
// they were sent), the best guess of its limit when it refuses without
// stating one.
type meter struct {
	mu     sync.Mutex
	counts [20]int
	tenths [20]int64 // which tenth of a second each count belongs to
}

const (
	meterSlot   = 100 * time.Millisecond
	meterSecond = int64(time.Second / meterSlot) // tenths in a second
)

func (m *meter) add(at time.Time) {
	t := at.UnixNano() / int64(meterSlot)
	i := t % int64(len(m.counts))
	m.mu.Lock()
	switch {
	case m.tenths[i] > t:
		// Older than the two seconds the meter holds (the slot is a later
		// tenth's): too old to count.
	case m.tenths[i] != t:
		m.tenths[i], m.counts[i] = t, 1
	default:
		m.counts[i]++
	}
	m.mu.Unlock()
}

// secondBefore is how many events were counted in the second before at, a
// moment within the last second: at's tenth in full (nothing later is
// counted in it yet, or, after a 429, little: the sidecar stopped sending),
// the tenths before it, and of the tenth the second begins in, the share of
// it inside the second, as if its events were spread evenly. (Whole tenths
// only left out up to a tenth of the events: a guess at a provider's limit
// came out 5-10 % low.)
func (m *meter) secondBefore(at time.Time) int {
	ns := at.UnixNano()
	t := ns / int64(meterSlot)
	into := float64(ns%int64(meterSlot)) / float64(meterSlot) // of at's tenth, elapsed by at
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0.0
	for i, tenth := range m.tenths {
		switch {
		case tenth <= t && t-tenth < meterSecond:
			n += float64(m.counts[i])
		case t-tenth == meterSecond:
			n += (1 - into) * float64(m.counts[i])
		}
	}
	return int(math.Round(n))
}
