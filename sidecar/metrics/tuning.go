package metrics

import "github.com/prometheus/client_golang/prometheus"

// Tuning is what the sidecar decided for itself: each queue's concurrency and
// prefetch, the rate-limit buckets' rates and where they come from, and the
// memory budget.
type Tuning struct {
	Concurrency        *prometheus.GaugeVec // queue
	Prefetch           *prometheus.GaugeVec // queue
	RateLimit          *prometheus.GaugeVec // bucket, source (operator|learned)
	LearnedRate        *prometheus.GaugeVec // bucket
	SearchBound        *prometheus.GaugeVec // bucket, bound (refused|accepted)
	SearchState        *prometheus.GaugeVec // bucket, state (trial|ignoring_lone_429s|shared_with_another_client)
	LearnedConcurrency *prometheus.GaugeVec // bucket
	MemoryLimit        prometheus.Gauge
	BytesBudget        prometheus.Gauge
	BytesInFlight      prometheus.Gauge
}

func (m *Metrics) registerTuning(f func(prometheus.Collector)) {
	t := &m.Tuning
	t.Concurrency = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_queue_concurrency",
		Help: "How many of a queue's messages this sidecar runs at once now (adaptive, at most SYMPHONY_QUEUES).",
	}, []string{"queue"})
	t.Prefetch = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_queue_prefetch",
		Help: "How many claimed messages of a queue may wait here for a free slot now.",
	}, []string{"queue"})
	t.RateLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_rate_limit_per_second",
		Help: "The rate in force in a shared rate-limit bucket, by source: operator (symphony.rate_limits.per_second) or learned (from the provider).",
	}, []string{"bucket", "source"})
	t.LearnedRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_rate_limit_learned_per_second",
		Help: "The rate learned from the provider for a bucket, whether or not an operator's setting overrides it.",
	}, []string{"bucket"})
	t.SearchBound = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_rate_limit_search_bound_per_second",
		Help: "The bounds of the rate search of a provider that states no limit: refused (the rate in force at its last 429 read as the limit) and accepted (the highest held for a second since without one).",
	}, []string{"bucket", "bound"})
	t.SearchState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_rate_limit_search_state",
		Help: "1 while a bucket's rate search is in the state: trial (lone 429s lowered the rate by 5 % to see whether they stop), ignoring_lone_429s (a trial found they went on at a lower rate), or shared_with_another_client (in the last 30 s another client spent the window of a limit the provider states, and the rate rises a step at a time); 0 otherwise.",
	}, []string{"bucket", "state"})
	t.LearnedConcurrency = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_rate_limit_learned_concurrency",
		Help: "The requests a provider's account may have in flight, learned from its 429s (Twilio's error 20429 with Twilio-Concurrent-Requests); every live sidecar on the bucket runs at most its share.",
	}, []string{"bucket"})
	t.MemoryLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "symphony_memory_limit_bytes",
		Help: "The Go runtime's soft memory limit (from GOMEMLIMIT, else from the cgroup's memory limit; 0: none).",
	})
	t.BytesBudget = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "symphony_bytes_in_flight_budget",
		Help: "Most bytes of attachments and request bodies held at once (0: unbounded).",
	})
	t.BytesInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "symphony_bytes_in_flight",
		Help: "Bytes of attachments and request bodies held now.",
	})
	f(t.Concurrency)
	f(t.Prefetch)
	f(t.RateLimit)
	f(t.LearnedRate)
	f(t.SearchBound)
	f(t.SearchState)
	f(t.LearnedConcurrency)
	f(t.MemoryLimit)
	f(t.BytesBudget)
	f(t.BytesInFlight)
}
