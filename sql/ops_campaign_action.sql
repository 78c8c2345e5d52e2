-- Pause, resume or cancel campaign $1 ($2 names the action; $3 is a cancel's
-- reason); symphony.campaign_actions records it with symphony.actor(). CASE runs
-- only the branch named. Null: no such action.
select case $2::text
         when 'pause' then symphony.pause_campaign($1)
         when 'resume' then symphony.resume_campaign($1)
         when 'cancel' then symphony.cancel_campaign($1, $3)
       end
