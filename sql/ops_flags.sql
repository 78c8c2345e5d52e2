-- Flags with their effect now (the symphony.flag_status view).
select name, enabled, rollout_percent, effective_percent, description, updated_at, updated_by,
       last_changed_at, last_changed_by
  from symphony.flag_status
