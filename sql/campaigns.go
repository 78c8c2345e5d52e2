package queries

// Campaigns, drips, schedules and suppression.
var (
	CampaignBatch   = mustRead("campaign_batch.sql")
	CampaignEnqueue = mustRead("campaign_enqueue.sql")
	DripStepBegin   = mustRead("drip_step_begin.sql")
	DripStepSent    = mustRead("drip_step_sent.sql")
	PauseStalled    = mustRead("pause_stalled_campaigns.sql")
	RunSchedules    = mustRead("run_schedules.sql")
	Suppressed      = statement("suppressed.sql")
	SuppressedBatch = statement("suppressed_batch.sql")
	SuppressedFew   = statement("suppressed_few.sql")
)
