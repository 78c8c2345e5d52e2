-- A campaign whose chain died is paused, with the reason, instead of showing
-- "running" forever.
--
-- A campaign advances only through its chain: the one campaign.process message
-- named in process_message_id queues a batch and dispatches the next. When that
-- message ended without a successor (dead after its last attempt, say a
-- template that no longer renders; cancelled by hand with symphony.cancel; or
-- purged), nothing would ever process the campaign again, and it still said
-- "running". symphony.pause_stalled_campaigns() finds such campaigns and pauses
-- them (as symphony.pause_campaign does: their emails not yet claimed wait),
-- recording why in paused_reason. Once the cause is fixed,
-- symphony.resume_campaign() starts a new chain where the campaign stopped.
-- Every sidecar's rescue round (sql/rescue.sql) runs it: a campaign is only ever
-- processed by a sidecar, so with none running there is nothing to pause.

alter table symphony.campaigns add column paused_reason text;
comment on column symphony.campaigns.paused_reason is
  'Why Symphony paused the campaign by itself (its campaign.process chain ended); null when it runs or an operator paused it. Cleared whenever the campaign leaves paused (resumed, cancelled).';

create function symphony.pause_stalled_campaigns() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s record;
  n integer := 0;
begin
  for s in
    select c.id, c.process_message_id as chain, m.state, m.last_error
      from symphony.campaigns c
      left join symphony.messages m on m.id = c.process_message_id
     where c.status in ('scheduled', 'running')
       and c.process_message_id is not null
       and (m.id is null or m.state in ('dead', 'cancelled'))
       for update of c skip locked
  loop
    if symphony.pause_campaign(s.id) then
      update symphony.campaigns
         set paused_reason = case
               when s.state is null then format('its campaign.process message %s is gone', s.chain)
               else format('its campaign.process message %s is %s: %s', s.chain, s.state,
                           coalesce(s.last_error, 'no error recorded'))
             end
       where id = s.id;
      n := n + 1;
    end if;
  end loop;
  return n;
end $$;
comment on function symphony.pause_stalled_campaigns() is
  'Pause every scheduled or running campaign whose campaign.process chain ended (its message dead, cancelled or gone), recording why in paused_reason; returns how many. Run by every sidecar''s rescue round.';

-- paused_reason holds only while the campaign is paused: whatever moves it on
-- (resume_campaign, cancel_campaign, an operator) drops the reason with it.
create function symphony.campaigns_clear_paused_reason() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.paused_reason := null;
  return new;
end $$;
create trigger campaigns_clear_paused_reason before update of status on symphony.campaigns
  for each row when (new.status <> 'paused' and new.paused_reason is not null)
  execute function symphony.campaigns_clear_paused_reason();

revoke all on function symphony.pause_stalled_campaigns(), symphony.campaigns_clear_paused_reason() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.pause_stalled_campaigns(), symphony.campaigns_clear_paused_reason() from %I', r);
    end if;
  end loop;
end $$;
