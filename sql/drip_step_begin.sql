-- First half of a drip.step attempt: lock enrollment $1 and say what to do with
-- step $2 at time $3 (send, wait, or stop) as JSON.
select symphony.drip_step_begin($1, $2, $3)
