-- First half of a campaign.process attempt: lock campaign $1 for message $2 at
-- time $3 and return what to do (send a batch, wait, or stop) as JSON.
select symphony.campaign_batch($1, $2, $3)
