package worker

import (
	"sync"
	"time"
)

// meter counts events over the last second, in tenths of a second: how many
// requests a provider accepted from this sidecar lately, the best guess of
// its limit when it refuses without stating one.
type meter struct {
	mu     sync.Mutex
	counts [10]int
	tenths [10]int64 // which tenth of a second each count belongs to
}

const meterSlot = 100 * time.Millisecond

func (m *meter) add(now time.Time) {
	t := now.UnixNano() / int64(meterSlot)
	i := t % int64(len(m.counts))
	m.mu.Lock()
	if m.tenths[i] != t {
		m.tenths[i], m.counts[i] = t, 0
	}
	m.counts[i]++
	m.mu.Unlock()
}

// lastSecond is how many events were counted in the second before now.
func (m *meter) lastSecond(now time.Time) int {
	t := now.UnixNano() / int64(meterSlot)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for i, at := range m.tenths {
		if t-at < int64(len(m.counts)) {
			n += m.counts[i]
		}
	}
	return n
}
