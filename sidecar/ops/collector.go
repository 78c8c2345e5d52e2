package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// CollectMetrics refreshes the queue-depth gauges every interval until ctx ends.
// A periodic read, not one per scrape: however often Prometheus (or several)
// scrape, the database sees one cheap query per sidecar per interval. queues
// are reported as 0 when they have no messages. Once a minute it also rolls
// up the history the dashboard charts (so they keep up without pg_cron) and
// refreshes the delivery-rate gauges from it.
func (s *Store) CollectMetrics(ctx context.Context, interval time.Duration, m *metrics.Metrics, queues []string, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	var rolledAt time.Time
	for {
		if time.Since(rolledAt) >= time.Minute {
			rolledAt = time.Now()
			s.rollUpAndRates(ctx, m, log)
		}
		qctx, cancel := context.WithTimeout(ctx, max(interval, 5*time.Second))
		depths, err := queue.ReadDepth(qctx, s.db, queue.PendingCap)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			m.QueueStatsErrors.Inc()
			if !failing { // log when it starts failing, not on every tick
				log.Warn("queue depth refresh failed", "error", err)
			}
			failing = true
		case err == nil:
			if failing {
				log.Info("queue depth refresh works again")
			}
			failing = false
			m.SetQueueDepth(depths, queues, time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rollUpAndRates runs the rollup and sets the delivery-rate gauges from it.
// Failures are logged as warnings: the charts and rates wait for the next
// minute, and sending is not affected.
func (s *Store) rollUpAndRates(ctx context.Context, m *metrics.Metrics, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.RollUp(ctx); err != nil {
		if ctx.Err() == nil {
			log.Warn("history rollup failed", "error", err)
		}
		return
	}
	days, err := s.DeliveryHistory(ctx, 2, time.Now())
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("delivery rates could not be read", "error", err)
		}
		return
	}
	for _, h := range days {
		t := h.Total
		rates := map[string]func() (float64, bool){
			"delivered": func() (float64, bool) { return t.Rate(t.Delivered) },
			"bounced":   func() (float64, bool) { return t.Rate(t.Bounced) },
		}
		if h.Channel == "email" {
			rates["complained"] = t.ComplaintRate
		}
		for status, rate := range rates {
			if pct, ok := rate(); ok {
				m.DeliveryRatio.WithLabelValues(h.Channel, status).Set(pct / 100)
			}
		}
	}
}
