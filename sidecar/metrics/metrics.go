package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the sidecar's Prometheus collectors.
type Metrics struct {
	Registry          *prometheus.Registry
	Processed         *prometheus.CounterVec   // queue, kind, outcome (succeeded|retry|dead)
	HandlerSeconds    *prometheus.HistogramVec // queue, kind
	Claimed           *prometheus.CounterVec   // queue
	ClaimErrors       *prometheus.CounterVec   // queue
	CompleteBatch     prometheus.Histogram
	CompleteErrors    prometheus.Counter
	LostLeases        prometheus.Counter
	Rescued           prometheus.Counter
	CampaignsPaused   prometheus.Counter
	InFlight          *prometheus.GaugeVec // queue
	ListenerConnected prometheus.Gauge
	Notifications     prometheus.Counter
	RateLimitWaits    *prometheus.CounterVec // queue

	// Provider requests that sent messages (see sidecar/worker's batching):
	// SendRequests by queue and mode (single|batch), BatchSize the members
	// of each batch request, by queue. Requests per message: the sum of
	// SendRequests over the messages they carried (SendMessages).
	SendRequests *prometheus.CounterVec   // queue, mode
	SendMessages *prometheus.CounterVec   // queue, mode
	BatchSize    *prometheus.HistogramVec // queue

	// Provider HTTP, recorded by httpx for every attempt (in-process retries too).
	ProviderResponses *prometheus.CounterVec   // host, code (HTTP status, or "error": no response)
	ProviderSeconds   *prometheus.HistogramVec // host

	// Queue depth across all sidecars, refreshed by a periodic query (see
	// ops.Store.CollectMetrics), never queried per scrape.
	QueueDepth         *prometheus.GaugeVec // queue, state (pending|scheduled|processing|dead)
	QueuePendingCapped *prometheus.GaugeVec // queue: 1 when pending and scheduled are lower bounds
	QueueOldest        *prometheus.GaugeVec // queue
	QueueStatsAge      prometheus.Gauge
	QueueStatsErrors   prometheus.Counter

	// Delivery webhooks (sidecar/providerevents).
	DeliveryWebhooks *prometheus.CounterVec // provider, outcome
	DeliveryEvents   *prometheus.CounterVec // provider, status, result
	DeliveryRatio    *prometheus.GaugeVec   // channel, status: from the database, all sidecars together

	// The sidecar's own listeners (sidecar/httpserver).
	HTTPConnections *prometheus.GaugeVec   // listener
	HTTPRefused     *prometheus.CounterVec // listener, reason

	Tuning Tuning

	depthQueues []string // queues set at the last refresh (one collector goroutine)
}

// New registers the sidecar's metrics, plus Go runtime and process metrics, in
// a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		Registry: reg,
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "symphony_messages_processed_total",
			Help: "Attempts finished, by queue, kind and outcome (succeeded, retry, dead).",
		}, []string{"queue", "kind", "outcome"}),
		HandlerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "symphony_handler_duration_seconds",
			Help:    "Time one attempt spent in its handler (provider call included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"queue", "kind"}),
		Claimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "symphony_messages_claimed_total",
			Help: "Messages claimed by this sidecar, by queue.",
		}, []string{"queue"}),
		ClaimErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "symphony_claim_errors_total",
			Help: "Failed claim queries, by queue.",
		}, []string{"queue"}),
		CompleteBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "symphony_complete_batch_size",
			Help:    "Outcomes written per completion statement.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500},
		}),
		CompleteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "symphony_complete_errors_total",
			Help: "Failed completion statements (retried until they succeed or the sidecar stops).",
		}),
		LostLeases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "symphony_lost_leases_total",
			Help: "Outcomes not written because the lease had been rescued by then.",
		}),
		Rescued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "symphony_leases_rescued_total",
			Help: "Expired leases this sidecar returned to pending or dead.",
		}),
		CampaignsPaused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "symphony_campaigns_paused_total",
			Help: "Campaigns this sidecar paused because their campaign.process chain ended (see symphony.campaigns.paused_reason).",
		}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "symphony_in_flight",
			Help: "Messages this sidecar is working on, by queue.",
		}, []string{"queue"}),
		ListenerConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "symphony_listener_connected",
			Help: "1 while the LISTEN connection is up.",
		}),
		Notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "symphony_notifications_total",
			Help: "NOTIFY messages received.",
		}),
	}
	m.RateLimitWaits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_rate_limit_waits_total",
		Help: "Times a queue's claim found its shared rate-limit bucket empty, by queue.",
	}, []string{"queue"})
	f(m.RateLimitWaits)
	m.SendRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_send_requests_total",
		Help: "Provider requests made to send messages, by queue and mode (single: one message, batch: a batch endpoint).",
	}, []string{"queue", "mode"})
	m.SendMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_send_request_messages_total",
		Help: "Messages carried by those requests, by queue and mode: requests per message is symphony_send_requests_total over this.",
	}, []string{"queue", "mode"})
	m.BatchSize = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "symphony_batch_size",
		Help:    "Messages per batch request, by queue.",
		Buckets: []float64{2, 5, 10, 25, 50, 75, 90, 100, 200, 300, 400, 500},
	}, []string{"queue"})
	f(m.SendRequests)
	f(m.SendMessages)
	f(m.BatchSize)
	m.registerOperations(f)
	m.registerDelivery(f)
	m.registerHTTP(f)
	m.registerTuning(f)
	f(m.Processed)
	f(m.HandlerSeconds)
	f(m.Claimed)
	f(m.ClaimErrors)
	f(m.CompleteBatch)
	f(m.CompleteErrors)
	f(m.LostLeases)
	f(m.Rescued)
	f(m.CampaignsPaused)
	f(m.InFlight)
	f(m.ListenerConnected)
	f(m.Notifications)
	return m
}

// WatchWALFeed exports whether the WAL wake-up feed is streaming, read from
// connected at every scrape.
func (m *Metrics) WatchWALFeed(connected func() bool) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "symphony_wal_feed_connected",
		Help: "1 while the WAL wake-up feed (SYMPHONY_WAKEUP=wal) is streaming.",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	}))
}
