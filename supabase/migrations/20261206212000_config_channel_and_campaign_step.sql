-- Two changes of one clean-up (issue 15): the configuration channel, and the
-- campaigns' periodic step.
--
-- The channel that tells sidecars to reload their configuration is named for
-- what it carries: symphony_config, not symphony_flags. It carries a flag's
-- name when a flag changes, 'limits' when a queue's bucket or a bucket's
-- limit changes, and 'kinds' when symphony.kinds changes; the sidecar
-- (sidecar/listener, ChannelConfig) reloads what the payload names and looks
-- for work. Messages still wake sidecars on the channel symphony.
--
-- The three notifying trigger functions are redefined with the new channel;
-- their triggers, owners and grants stay as they are.

create or replace function symphony.kinds_changed() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform pg_notify('symphony_config', 'kinds');
  return null;
end $$;

create or replace function symphony.limits_changed() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform pg_notify('symphony_config', 'limits');
  return null;
end $$;

create or replace function symphony.flags_audit() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  actor text := symphony.actor();
begin
  if tg_op = 'UPDATE' then
    if new.enabled is not distinct from old.enabled and new.rollout_percent is not distinct from old.rollout_percent then
      return new;
    end if;
    new.updated_at := now();
    new.updated_by := actor;
  end if;
  insert into symphony.flag_changes (flag, changed_by, old_enabled, new_enabled, old_rollout_percent, new_rollout_percent)
  values (coalesce(new.name, old.name), actor, old.enabled, new.enabled, old.rollout_percent, new.rollout_percent);
  perform pg_notify('symphony_config', coalesce(new.name, old.name));
  return new;
end $$;

-- pause_stalled_campaigns is run by the campaigns' own periodic step in every
-- sidecar (handler.StalledCampaigns, a worker.Periodic), no longer by the
-- lease rescue, which knows nothing of campaigns.
comment on function symphony.pause_stalled_campaigns() is
  'Pause every scheduled or running campaign whose campaign.process chain ended (its message dead, cancelled or gone), recording why in paused_reason; returns how many. Run by every sidecar''s campaign step (handler.StalledCampaigns).';
