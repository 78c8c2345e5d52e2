package campaign

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Stalled is the campaigns' periodic step, run by every sidecar's worker at
// its rescue interval (app wires Run as a worker.Periodic): it pauses each
// scheduled or running campaign whose campaign.process chain ended (its
// message dead, cancelled or purged), which nothing would otherwise ever
// process again, recording why in paused_reason
// (symphony.pause_stalled_campaigns), and counts the pauses in
// symphony_campaigns_paused_total for an alert to see. A campaign is only
// ever processed by a sidecar, so with none running there is nothing to
// pause, and pg_cron does not run it.
type Stalled struct {
	DB      *pgxpool.Pool
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Run pauses the stalled campaigns once.
func (s Stalled) Run(ctx context.Context) error {
	var paused int
	if err := s.DB.QueryRow(ctx, queries.PauseStalled).Scan(&paused); err != nil {
		return fmt.Errorf("error pausing stalled campaigns: %w", err)
	}
	if paused > 0 {
		s.Metrics.CampaignsPaused.Add(float64(paused))
		s.Log.Warn("paused campaigns whose processing chain ended; see symphony.campaigns.paused_reason, then resume_campaign",
			"count", paused)
	}
	return nil
}
