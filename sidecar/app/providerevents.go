package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/httpserver"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/providerevents"
)

// startWebhooks serves the providers' delivery-status webhooks on their own
// address when any is configured, and returns what stops it. Like the
// dashboard's, the listener is separate so that publishing it (on Fly, a
// [[services]] block on its port only) keeps /metrics and /status private.
// Requests that come before the database answers get 503, which providers
// retry.
func (m *Main) startWebhooks(cfg config.Config, pool *pgxpool.Pool, met *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	if !cfg.WebhooksEnabled() {
		return func() {}, nil
	}
	p := cfg.Providers
	srv, err := providerevents.New(providerevents.Config{
		ResendSecret:      p.ResendWebhookSecret,
		SendGridPublicKey: p.SendGridWebhookPublicKey,
		PostmarkUser:      p.PostmarkWebhookUser,
		PostmarkPassword:  p.PostmarkWebhookPassword,
		TwilioAuthToken:   p.TwilioAuthToken,
		PublicURL:         cfg.PublicURL,
		Store:             providerevents.NewStore(pool),
		Metrics:           met,
		Log:               log.With("component", "delivery"),
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.WebhookAddr)
	if err != nil {
		return nil, fmt.Errorf("SYMPHONY_WEBHOOK_ADDR=%s: %w", cfg.WebhookAddr, err)
	}
	m.mu.Lock()
	m.webhookAddr = ln.Addr()
	m.mu.Unlock()
	hs := httpserver.New("webhooks", srv, httpserver.WebhookLimits(), log, met)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("webhook server failed", "error", err)
		}
	}()
	log.Info("delivery webhooks enabled", "addr", ln.Addr().String(), "routes", srv.Enabled())
	return func() { shutdownHTTP(hs, log); <-done }, nil
}

// WebhookAddr is the webhook listener's bound address, or nil when no
// provider's webhook is configured.
func (m *Main) WebhookAddr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.webhookAddr
}
