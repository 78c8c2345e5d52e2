-- Pause the campaigns whose campaign.process chain ended (dead, cancelled or gone),
-- recording why in paused_reason; returns how many. The campaigns' periodic step
-- (handler.StalledCampaigns, a worker.Periodic) runs it.
select symphony.pause_stalled_campaigns() as paused
