package queries

// The dashboard's history: the rollups symphony.roll_up() keeps, campaigns,
// drips and delivery, and the campaign actions.
var (
	RollUp             = mustRead("roll_up.sql")
	OpsLatencyBounds   = mustRead("ops_latency_bounds.sql")
	OpsRollupUpto      = mustRead("ops_rollup_upto.sql")
	OpsMessageMinutes  = mustRead("ops_message_minutes.sql")
	OpsBridgeMinutes   = mustRead("ops_bridge_minutes.sql")
	OpsBridges         = mustRead("ops_bridges.sql")
	OpsFlagChanges     = mustRead("ops_flag_changes.sql")
	OpsCampaigns       = mustRead("ops_campaigns.sql")
	OpsDripSteps       = mustRead("ops_drip_steps.sql")
	OpsDeliveryDays    = mustRead("ops_delivery_days.sql")
	OpsCampaignAction  = mustRead("ops_campaign_action.sql")
	OpsCampaignActions = mustRead("ops_campaign_actions.sql")
	OpsBatches         = mustRead("ops_batches.sql")
)
