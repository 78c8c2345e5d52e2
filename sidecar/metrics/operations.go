package metrics

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// registerOperations adds the provider HTTP and queue-depth metrics.
func (m *Metrics) registerOperations(register func(prometheus.Collector)) {
	m.ProviderResponses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_provider_responses_total",
		Help: "Provider HTTP attempts by host and status code (\"error\": no response, e.g. a timeout or reset).",
	}, []string{"host", "code"})
	m.ProviderSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "symphony_provider_request_duration_seconds",
		Help:    "Time one provider HTTP attempt took, by host.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"host"})
	m.QueueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_queue_messages",
		Help: fmt.Sprintf("Messages in the database by queue and state (pending = due now, scheduled = delayed or backing off, processing, dead), all sidecars together. Pending and scheduled count at most %d pending messages a queue: see symphony_queue_pending_capped.", queue.PendingCap+1),
	}, []string{"queue", "state"})
	m.QueuePendingCapped = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_queue_pending_capped",
		Help: fmt.Sprintf("1 when the queue had more pending messages than the depth reading counts (%d): its pending and scheduled are then lower bounds. The symphony.queue_stats view counts them all.", queue.PendingCap),
	}, []string{"queue"})
	m.QueueOldest = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_queue_oldest_pending_seconds",
		Help: "Age of the oldest message due now, by queue (0 when none waits).",
	}, []string{"queue"})
	m.QueueStatsAge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "symphony_queue_stats_timestamp_seconds",
		Help: "Unix time of the last successful queue-depth refresh (alert when it falls behind).",
	})
	m.QueueStatsErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "symphony_queue_stats_errors_total",
		Help: "Failed queue-depth refreshes.",
	})
	for _, c := range []prometheus.Collector{m.ProviderResponses, m.ProviderSeconds, m.QueueDepth,
		m.QueuePendingCapped, m.QueueOldest, m.QueueStatsAge, m.QueueStatsErrors} {
		register(c)
	}
}

// ObserveProviderHTTP records one provider HTTP attempt: status 0 means no
// response arrived. Its signature matches httpx.Config.Observe.
func (m *Metrics) ObserveProviderHTTP(host string, status int, _ error, took time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.ProviderResponses.WithLabelValues(host, code).Inc()
	m.ProviderSeconds.WithLabelValues(host).Observe(took.Seconds())
}

// SetQueueDepth replaces the queue gauges with a fresh reading. Queues named in
// always (the ones this sidecar serves) read 0 rather than vanish when empty,
// and a queue that had work at the last reading but none now drops to 0.
func (m *Metrics) SetQueueDepth(depths []queue.Depth, always []string, at time.Time) {
	seen := map[string]bool{}
	set := func(d queue.Depth) {
		seen[d.Queue] = true
		m.QueueDepth.WithLabelValues(d.Queue, "pending").Set(float64(d.Pending))
		m.QueueDepth.WithLabelValues(d.Queue, "scheduled").Set(float64(d.Scheduled))
		m.QueueDepth.WithLabelValues(d.Queue, "processing").Set(float64(d.Processing))
		m.QueueDepth.WithLabelValues(d.Queue, "dead").Set(float64(d.Dead))
		m.QueueOldest.WithLabelValues(d.Queue).Set(d.OldestPendingSeconds)
		capped := 0.0
		if d.PendingCapped {
			capped = 1
		}
		m.QueuePendingCapped.WithLabelValues(d.Queue).Set(capped)
	}
	for _, d := range depths {
		set(d)
	}
	for _, q := range always {
		if !seen[q] {
			set(queue.Depth{Queue: q})
		}
	}
	for _, q := range m.depthQueues {
		if !seen[q] {
			set(queue.Depth{Queue: q})
		}
	}
	m.depthQueues = m.depthQueues[:0]
	for q := range seen {
		m.depthQueues = append(m.depthQueues, q)
	}
	m.QueueStatsAge.Set(float64(at.UnixNano()) / 1e9)
}
