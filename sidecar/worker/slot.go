package worker

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// slot is one long-lived goroutine running a queue's messages one at a time.
type slot struct {
	p       *producer
	index   int                     // it runs while index < p.limit
	attempt atomic.Pointer[attempt] // the one running, for the watchdog
	kinds   map[string]*kindMetrics // only the slot's goroutine touches it
	_       [32]byte                // a cache line each: slots on other cores store attempt all the time
}

// runSlot runs the messages of one of a queue's slots until its producer
// stops, parking whenever the queue's limit falls to or below its index.
func (w *Worker) runSlot(s *slot) {
	p := s.p
	for {
		p.park(s)
		u, ok := <-p.work
		if !ok {
			return
		}
		p.inflight.Add(1)
		p.inFlight.Inc()
		if u.batch != nil {
			w.runBatch(s, u.batch) // writes its outcomes, marks its messages done
		} else {
			o := w.handle(s, u.m, u.job)
			w.outcomes <- o
			w.countSingle(p, u.m, o)
		}
		p.inflight.Add(-1)
		p.inFlight.Dec()
		// Wake the producer only once there is room for a worthwhile claim
		// (or nothing is left), not at every message.
		if held := p.held.Add(-1); p.capacity.Load()-held >= p.lowWater.Load() || held == 0 {
			signal(p.freed)
		}
		if u.batch == nil {
			w.running.Done()
		}
	}
}

// countSingle counts a message of a kind that sends batches, sent alone, as
// a single request (unless it was cancelled or deferred before any call).
func (w *Worker) countSingle(p *producer, m *msgtype.Message, o queue.Outcome) {
	if o.State == queue.Cancelled || o.State == queue.Deferred || !w.batching(m.Kind) {
		return
	}
	p.singleRequests.Add(1)
	w.m.SendRequests.WithLabelValues(p.queue, "single").Inc()
	w.m.SendMessages.WithLabelValues(p.queue, "single").Inc()
}

// kindMetrics are a slot's series for one message kind, each looked up the
// first time it is used (an unused one is not exported, as before): a lookup
// hashes the labels and takes a read lock every core writes to.
type kindMetrics struct {
	queue, kind string
	seconds     prometheus.Observer
	outcomes    [5]prometheus.Counter // by outcomeIndex
}

func (s *slot) metrics(m *msgtype.Message) *kindMetrics {
	km := s.kinds[m.Kind]
	if km == nil || km.queue != m.Queue {
		km = &kindMetrics{queue: m.Queue, kind: m.Kind}
		s.kinds[m.Kind] = km
	}
	return km
}

func (km *kindMetrics) observe(m *metrics.Metrics, took time.Duration) {
	if km.seconds == nil {
		km.seconds = m.HandlerSeconds.WithLabelValues(km.queue, km.kind)
	}
	km.seconds.Observe(took.Seconds())
}

func (km *kindMetrics) processed(m *metrics.Metrics, st queue.State) prometheus.Counter {
	i, label := outcomeIndex(st)
	if km.outcomes[i] == nil {
		km.outcomes[i] = m.Processed.WithLabelValues(km.queue, km.kind, label)
	}
	return km.outcomes[i]
}

// outcomeIndex is where kindMetrics keeps the counter of st, and its outcome label.
func outcomeIndex(st queue.State) (int, string) {
	switch st {
	case queue.Succeeded:
		return 0, "succeeded"
	case queue.Dead:
		return 1, "dead"
	case queue.Retry:
		return 2, "retry"
	case queue.Cancelled:
		return 3, "cancelled"
	default:
		return 4, "deferred"
	}
}
