-- Changes to the flags named in $1 since $2, and for each the last change before
-- it (where the charts' rollout line starts), oldest first.
(select flag, changed_at, changed_by, old_enabled, new_enabled, old_rollout_percent, new_rollout_percent
   from symphony.flag_changes
  where flag = any($1) and changed_at >= $2)
union all
(select distinct on (flag) flag, changed_at, changed_by, old_enabled, new_enabled, old_rollout_percent, new_rollout_percent
   from symphony.flag_changes
  where flag = any($1) and changed_at < $2
  order by flag, changed_at desc, id desc)
order by changed_at
