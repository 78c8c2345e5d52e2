-- Opt-outs and opt-ins from the providers' webhooks, applied in event order and once.
--
-- A Twilio request carries no timestamp in its signature, so a validly signed START can
-- be posted again at any time; record_delivery used to act on every copy, and a replayed
-- START lifted a later STOP. Now every consent event (an opt-out or opt-in, and any
-- event that adds a "stop" or "unsubscribed" suppression, such as Twilio's error 21610)
-- is kept in symphony.opt_events under its (provider, event_key), and changes the
-- suppression list only if it is new and no later event for the same address is known:
--
--   * a copy of an event already recorded changes nothing ("duplicate");
--   * an event older than one already recorded for the address is kept, but changes
--     nothing ("superseded"): the newer event stands.
--
-- Order is (occurred_at, id): the provider's time where it gives one (SendGrid,
-- Postmark), otherwise the time the sidecar first received the event (Twilio's inbound
-- messages carry no time; Twilio posts them as they arrive), with ties going to the
-- later received. Keys are kept, not purged: a purged key would let its old copy count
-- as news. Opt-outs are few, so the table stays small.

create table symphony.opt_events (
  id          bigint generated always as identity primary key,
  provider    text not null check (provider in ('resend', 'sendgrid', 'postmark', 'twilio')),
  event_key   text not null check (length(event_key) between 1 and 500),
  channel     text not null check (channel in ('email', 'sms')),
  address     text not null,
  opted_out   boolean not null,
  -- the suppression reason an opt-out adds (stop, unsubscribed, bounced, complained)
  reason      text check (opted_out = (reason is not null)),
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  constraint opt_events_key unique (provider, event_key)
);
comment on table symphony.opt_events is
  'Every distinct opt-out and opt-in the providers reported (Twilio STOP/START and 21610, SendGrid and Postmark unsubscribes), by (provider, event_key). Only the latest event for an address, by (occurred_at, id), changes symphony.suppressions; copies and older events change nothing.';
-- The latest event for an address.
create index opt_events_address_idx on symphony.opt_events (channel, address, occurred_at desc, id desc);

-- apply_opt_event records one consent event and applies it if it is the latest for the
-- address. Returns 'duplicate', 'superseded' or 'applied'. Called by record_delivery.
create function symphony.apply_opt_event(
  provider text, event_key text, channel text, address text, opted_out boolean, reason text, occurred_at timestamptz)
returns text language plpgsql set search_path = '' as $$
declare
  ev bigint;
begin
  -- One address at a time, so two events for it cannot both believe they are the latest.
  perform pg_catalog.pg_advisory_xact_lock('symphony.opt_events'::regclass::oid::integer,
                                           pg_catalog.hashtext(apply_opt_event.channel || ':' || apply_opt_event.address));
  insert into symphony.opt_events as o (provider, event_key, channel, address, opted_out, reason, occurred_at)
  values (apply_opt_event.provider, apply_opt_event.event_key, apply_opt_event.channel, apply_opt_event.address,
          apply_opt_event.opted_out, case when apply_opt_event.opted_out then apply_opt_event.reason end,
          apply_opt_event.occurred_at)
  on conflict on constraint opt_events_key do nothing
  returning o.id into ev;
  if ev is null then
    return 'duplicate';
  end if;
  if exists (select 1 from symphony.opt_events o
              where o.channel = apply_opt_event.channel and o.address = apply_opt_event.address
                and (o.occurred_at, o.id) > (apply_opt_event.occurred_at, ev)) then
    return 'superseded';
  end if;
  if apply_opt_event.opted_out then
    -- An address already there keeps its first reason.
    insert into symphony.suppressions (channel, address, reason, source)
    values (apply_opt_event.channel, apply_opt_event.address, apply_opt_event.reason, 'webhook:' || apply_opt_event.provider)
    on conflict on constraint suppressions_pkey do nothing;
  else
    -- Twilio lets the number receive again after START; so do we, unless an operator or
    -- another source suppressed it for another reason.
    delete from symphony.suppressions s
     where s.channel = apply_opt_event.channel and s.address = apply_opt_event.address and s.reason = 'stop';
  end if;
  return 'applied';
end $$;
comment on function symphony.apply_opt_event(text, text, text, text, boolean, text, timestamptz) is
  'Records one opt-out or opt-in (symphony.opt_events) and changes symphony.suppressions only if it is new and the latest for the address. Returns duplicate, superseded or applied.';

create or replace function symphony.record_delivery(
  provider text, provider_message_id text, provider_event text, status text, recipient text, reason text,
  occurred_at timestamptz, suppress text, event_key text, raw jsonb default null)
returns text language plpgsql set search_path = '' as $$
declare
  channel text := case record_delivery.provider when 'twilio' then 'sms' else 'email' end;
  addr text := symphony.normalize_address(channel, record_delivery.recipient);
  msg bigint;
  cur jsonb;
  r text := left(record_delivery.reason, 500);
  consent text;
begin
  if record_delivery.provider not in ('resend', 'sendgrid', 'postmark', 'twilio') then
    raise exception using errcode = '22023', message = format('symphony: record_delivery: unknown provider %L', record_delivery.provider);
  end if;
  if record_delivery.status in ('opt_in', 'opt_out') or record_delivery.suppress in ('stop', 'unsubscribed') then
    -- A consent event: in order, once (symphony.apply_opt_event).
    if addr is not null then
      consent := symphony.apply_opt_event(record_delivery.provider, record_delivery.event_key, channel, addr,
                                          record_delivery.status <> 'opt_in', coalesce(record_delivery.suppress, 'stop'),
                                          record_delivery.occurred_at);
    end if;
    if record_delivery.status in ('opt_in', 'opt_out') then
      return case when consent in ('duplicate', 'superseded') then consent else record_delivery.status end;
    end if;
  elsif record_delivery.suppress is not null and addr is not null then
    insert into symphony.suppressions as s (channel, address, reason, source)
    values (channel, addr, record_delivery.suppress, 'webhook:' || record_delivery.provider)
    on conflict on constraint suppressions_pkey do nothing;
  end if;
  if symphony.delivery_rank(record_delivery.status) is null then
    raise exception using errcode = '22023', message = format('symphony: record_delivery: unknown status %L', record_delivery.status);
  end if;

  -- The row lock orders concurrent events of one message.
  select m.id, m.result -> 'delivery' into msg, cur
    from symphony.messages m
   where (m.result ->> 'provider_message_id') = record_delivery.provider_message_id
     and m.result ->> 'provider' = record_delivery.provider
     and (m.result ->> 'provider') <> 'log' -- matches the index's predicate, so the index is used
   order by m.id desc
   limit 1
     for update;
  if msg is null then
    return 'unknown';
  end if;
  insert into symphony.delivery_events (message_id, provider, event_key, provider_event, status, recipient, reason, occurred_at, raw)
  values (msg, record_delivery.provider, record_delivery.event_key, record_delivery.provider_event, record_delivery.status,
          record_delivery.recipient, r, record_delivery.occurred_at, record_delivery.raw)
  on conflict on constraint delivery_events_key do nothing;
  if not found then
    return 'duplicate';
  end if;
  if cur is not null
     and (symphony.delivery_rank(cur ->> 'status'), (cur ->> 'at')::timestamptz)
         >= (symphony.delivery_rank(record_delivery.status), record_delivery.occurred_at) then
    return 'superseded';
  end if;
  update symphony.messages m
     set result = jsonb_set(coalesce(m.result, '{}'), '{delivery}', jsonb_strip_nulls(jsonb_build_object(
           'status', record_delivery.status, 'at', record_delivery.occurred_at,
           'recipient', record_delivery.recipient, 'reason', r,
           'event', record_delivery.provider_event)))
   where m.id = msg;
  return 'recorded';
end $$;
comment on function symphony.record_delivery(text, text, text, text, text, text, timestamptz, text, text, jsonb) is
  'Records one provider delivery event (the sidecar''s webhooks call it): result.delivery, symphony.delivery_events, and the suppression list for hard bounces and complaints; opt-outs and opt-ins go through symphony.apply_opt_event, in event order and once. Idempotent per (provider, event_key).';

-- Like the delivery history: the sidecar (the owner's role) writes, service_role reads.
revoke all on table symphony.opt_events from public;
revoke all on sequence symphony.opt_events_id_seq from public;
revoke all on function symphony.apply_opt_event(text, text, text, text, boolean, text, timestamptz) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on table symphony.opt_events from %I', r);
      execute format('revoke all on sequence symphony.opt_events_id_seq from %I', r);
      execute format('revoke all on function symphony.apply_opt_event(text, text, text, text, boolean, text, timestamptz) from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.opt_events to service_role;
    revoke all on function symphony.apply_opt_event(text, text, text, text, boolean, text, timestamptz) from service_role;
  end if;
end $$;
