-- Return expired leases to pending (or dead after the last attempt), then pause
-- the campaigns whose campaign.process chain ended (symphony.pause_stalled_campaigns),
-- which a message dying here may have just done. Returns both counts.
select symphony.rescue_expired() as rescued, symphony.pause_stalled_campaigns() as paused
