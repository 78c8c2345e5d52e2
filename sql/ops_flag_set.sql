-- Change flag $1: enabled to $2 and rollout_percent to $3, each unless null. The
-- flags_audit trigger records the change under symphony.actor().
update symphony.flags
   set enabled = coalesce($2::boolean, enabled),
       rollout_percent = coalesce($3::integer, rollout_percent)
 where name = $1
returning name
