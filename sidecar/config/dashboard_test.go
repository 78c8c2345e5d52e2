package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/config"
)

func TestFromEnv_Dashboard(t *testing.T) {
	t.Parallel()
	c, err := config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/d"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DashboardToken != "" || c.DashboardAddr != ":8081" || c.StatsInterval != 5*time.Second {
		t.Fatalf("defaults: dashboard off on :8081, stats every 5s; got %q %q %s", c.DashboardToken, c.DashboardAddr, c.StatsInterval)
	}

	secret := "short-secret"
	_, err = config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_DASHBOARD_TOKEN": secret}))
	if err == nil || !strings.Contains(err.Error(), "SYMPHONY_DASHBOARD_TOKEN is 12 characters") || strings.Contains(err.Error(), secret) {
		t.Fatalf("a short token: %v; want an error naming the variable, not the value", err)
	}
	long := strings.Repeat("k", 32)
	_, err = config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_DASHBOARD_TOKEN": long,
		"SYMPHONY_DASHBOARD_ADDR": ":8080"}))
	if err == nil || !strings.Contains(err.Error(), "SYMPHONY_DASHBOARD_ADDR must differ from SYMPHONY_HTTP_ADDR") {
		t.Fatalf("dashboard on the metrics port: %v", err)
	}
	c, err = config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_DASHBOARD_TOKEN": long,
		"SYMPHONY_STATS_INTERVAL": "2s"}))
	if err != nil || c.DashboardToken != long || c.StatsInterval != 2*time.Second {
		t.Fatalf("dashboard on: %v %+v", err, c)
	}
	if _, err := config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_STATS_INTERVAL": "soon"})); err == nil ||
		!strings.Contains(err.Error(), "SYMPHONY_STATS_INTERVAL") {
		t.Fatalf("a bad stats interval: %v", err)
	}
}
