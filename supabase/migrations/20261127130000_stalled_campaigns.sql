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
-- The tick and every sidecar's rescue round run it.

alter table symphony.campaigns add column paused_reason text;
comment on column symphony.campaigns.paused_reason is
  'Why Symphony paused the campaign by itself (its campaign.process chain ended); null when it runs or an operator paused it. Cleared by symphony.resume_campaign.';

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
  'Pause every scheduled or running campaign whose campaign.process chain ended (its message dead, cancelled or gone), recording why in paused_reason; returns how many. Run by the tick and by the sidecars.';

create or replace function symphony.resume_campaign(campaign_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  c symphony.campaigns;
  n integer;
begin
  update symphony.campaigns
     set status = case when started_at is null then 'scheduled' else 'running' end, paused_at = null,
         paused_reason = null
   where id = campaign_id and status = 'paused'
  returning * into c;
  if not found then
    return false;
  end if;
  update symphony.messages m set available_at = now()
    from symphony.campaign_recipients r
   where r.campaign_id = c.id and r.status = 'queued'
     and m.id = r.message_id and m.state = 'pending' and m.available_at = timestamptz '9999-12-31 00:00:00+00';
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('symphony', 'email');
  end if;
  perform symphony._campaign_chain(c, greatest(now(), coalesce(c.scheduled_at, now())));
  return true;
end $$;

create or replace function symphony.tick() returns integer
language plpgsql set search_path = '' as $$
declare
  rescued integer := symphony.rescue_expired();
begin
  delete from symphony.listeners l
   where not exists (select 1 from symphony.workers w
                      where w.id = l.worker_id and w.stopped_at is null
                        and w.heartbeat_at > now() - interval '2 minutes');
  perform symphony.sync_listening();
  perform symphony.pause_stalled_campaigns();
  if rescued = 0 and exists (
       select 1 from symphony.messages where state = 'pending' and available_at <= now()) then
    perform pg_notify('symphony', '*');
  end if;
  return rescued;
end $$;

revoke all on function symphony.pause_stalled_campaigns() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.pause_stalled_campaigns() from %I', r);
    end if;
  end loop;
end $$;
