package worker_test

import (
	"context"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

// The rescue round pauses a campaign whose chain died, and counts it in
// symphony_campaigns_paused_total for an alert to see.
func TestWorker_RescueRoundPausesStalledCampaigns(t *testing.T) {
	t.Parallel()
	pool := prefetchSetup(t, 0)
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
	if _, err := pool.Exec(ctx, `update symphony.messages set state = 'dead', last_error = 'boom', finished_at = now() where id = $1`, chain); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	runOneSlot(t, pool, "w-rescue", &counting{}, m)
	waitUntil(t, "the campaign is paused", func() bool {
		var status string
		_ = pool.QueryRow(ctx, `select status from symphony.campaigns where id = $1`, cid).Scan(&status)
		return status == "paused"
	})
	waitUntil(t, "the pause is counted", func() bool {
		var d dto.Metric
		return m.CampaignsPaused.Write(&d) == nil && d.GetCounter().GetValue() == 1
	})
}
