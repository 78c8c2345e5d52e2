package campaign_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/campaign"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

// The campaigns' periodic step pauses a campaign whose campaign.process
// chain died, with the reason, counts it in symphony_campaigns_paused_total
// for an alert to see, and leaves a campaign whose chain is alive alone.
func TestStalledCampaigns_PausesACampaignWhoseChainDied(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	ctx := context.Background()
	var cid, chain int64
	if err := pool.QueryRow(ctx, `with c as (
		insert into symphony.campaigns (name, "from", subject, "text") values ('stall', 'news@example.com', 'Hi', 'Hello')
		returning id)
		insert into symphony.campaign_recipients (campaign_id, email) select id, 'a@example.com' from c returning campaign_id`).Scan(&cid); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `select symphony.start_campaign($1)`, cid).Scan(&chain); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	step := campaign.Stalled{DB: pool, Metrics: m, Log: slog.New(slog.DiscardHandler)}
	paused := func() float64 {
		var d dto.Metric
		if err := m.CampaignsPaused.Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetCounter().GetValue()
	}
	status := func() (status, reason string) {
		if err := pool.QueryRow(ctx, `select status, coalesce(paused_reason, '') from symphony.campaigns where id = $1`, cid).
			Scan(&status, &reason); err != nil {
			t.Fatal(err)
		}
		return status, reason
	}

	if err := step.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := status(); s == "paused" || paused() != 0 {
		t.Fatalf("a campaign whose chain is alive: %s, %v paused", s, paused())
	}
	kindtest.Exec(t, pool, `update symphony.messages set state = 'dead', last_error = 'boom', finished_at = now() where id = $1`, chain)
	for range 2 { // the second turn finds nothing more to pause
		if err := step.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s, reason := status(); s != "paused" || !strings.Contains(reason, "is dead: boom") || paused() != 1 {
		t.Fatalf("a campaign whose chain died: %s (%q), %v paused; want paused, once", s, reason, paused())
	}
}
