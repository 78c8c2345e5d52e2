package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/dashboard"
	"github.com/symphonymessenger/symphony/sidecar/httpserver"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// startDashboard serves the operator dashboard on its own address when a token
// is configured, and returns what stops it. Its own listener keeps /metrics and
// /status private when the dashboard is exposed to the internet (on Fly, an
// [http_service] on the dashboard's port only).
func (m *Main) startDashboard(cfg config.Config, store *ops.Store, met *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	if cfg.DashboardToken == "" {
		return func() {}, nil
	}
	h, err := dashboard.New(dashboard.Config{Token: cfg.DashboardToken, Ops: store, WorkerID: cfg.WorkerID,
		Version: Version, Log: log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.DashboardAddr)
	if err != nil {
		return nil, fmt.Errorf("SYMPHONY_DASHBOARD_ADDR=%s: %w", cfg.DashboardAddr, err)
	}
	m.mu.Lock()
	m.dashboardAddr = ln.Addr()
	m.mu.Unlock()
	srv := httpserver.New("dashboard", h, httpserver.DashboardLimits(), log, met)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("dashboard server failed", "error", err)
		}
	}()
	log.Info("dashboard enabled", "addr", ln.Addr().String())
	return func() { shutdownHTTP(srv, log); <-done }, nil
}

// DashboardAddr is the dashboard's bound address, or nil when it is off.
func (m *Main) DashboardAddr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dashboardAddr
}
