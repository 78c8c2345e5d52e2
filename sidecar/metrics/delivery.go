package metrics

import "github.com/prometheus/client_golang/prometheus"

// registerDelivery adds the delivery-webhook metrics (sidecar/providerevents).
func (m *Metrics) registerDelivery(register func(prometheus.Collector)) {
	m.DeliveryWebhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_delivery_webhooks_total",
		Help: "Delivery webhook requests by provider and outcome (accepted, unauthorized, bad_signature, stale, malformed, too_large, busy: too many bodies being read, error: not stored; both 503, retried by the provider).",
	}, []string{"provider", "outcome"})
	m.DeliveryEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "symphony_delivery_events_total",
		Help: "Delivery events in accepted webhooks by provider, status and result (recorded, superseded, duplicate, unknown: no message has that provider id, opt_out, opt_in; an opt-out or opt-in already recorded is duplicate, one older than the latest for its address superseded).",
	}, []string{"provider", "status", "result"})
	m.DeliveryRatio = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "symphony_delivery_ratio",
		Help: "Share of the messages sent yesterday and today (UTC) that the providers reported delivered, bounced (SMS: undelivered) or, for email, complained about (of those delivered), by channel (email, sms) and status; from the dashboard's rollup, refreshed once a minute.",
	}, []string{"channel", "status"})
	register(m.DeliveryWebhooks)
	register(m.DeliveryEvents)
	register(m.DeliveryRatio)
}
