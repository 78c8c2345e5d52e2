package worker

import "sync/atomic"

// slot is one long-lived goroutine running a queue's messages one at a time.
type slot struct {
	p       *producer
	attempt atomic.Pointer[attempt] // the one running, for the watchdog
	_       [48]byte                // a cache line each: slots on other cores store attempt all the time
}

// runSlot runs the messages of one of a queue's slots until its producer stops.
func (w *Worker) runSlot(s *slot) {
	p := s.p
	for m := range p.work {
		o := w.handle(s, m)
		w.outcomes <- o
		p.inflight.Add(-1)
		w.m.InFlight.WithLabelValues(p.queue).Dec()
		signal(p.freed)
		w.running.Done()
	}
}
