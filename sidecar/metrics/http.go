package metrics

import "github.com/prometheus/client_golang/prometheus"

// registerHTTP adds the metrics of the sidecar's own listeners
// (sidecar/httpserver).
func (m *Metrics) registerHTTP(register func(prometheus.Collector)) {
	m.HTTPConnections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_http_connections",
		Help: "Connections held open by each of the sidecar's listeners (api, dashboard, webhooks).",
	}, []string{"listener"})
	m.HTTPRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_http_refused_total",
		Help: "Connections and requests a listener dropped to stay within its limits, by reason: evicted (a connection idle or still sending its headers, closed to admit a new one at the cap), full (a new connection closed: every held one was in a handler), busy (a request answered 503: too many in handlers), body (a request answered 413: a body where none is accepted, or over the limit).",
	}, []string{"listener", "reason"})
	register(m.HTTPConnections)
	register(m.HTTPRefused)
}
