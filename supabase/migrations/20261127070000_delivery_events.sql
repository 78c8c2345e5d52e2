-- Delivery status from the providers' webhooks (Resend, SendGrid, Postmark, Twilio),
-- received by the sidecar (see sidecar/delivery) and recorded here in one place:
--
--   * the message's result gets result.delivery = {status, at, recipient, reason, event};
--   * symphony.delivery_events keeps every distinct event of a message, for history;
--   * hard bounces, complaints and SMS opt-outs (STOP) go on symphony.suppressions.
--
-- Providers deliver at least once and out of order, so recording is idempotent: an
-- event is identified by (provider, event_key), and a message's status only moves
-- towards the more final one (see delivery_rank), the later event winning a tie.

-- Statuses, from least to most final. Equal ranks are alternatives that one message
-- does not normally both reach.
create function symphony.delivery_rank(status text) returns integer
language sql immutable parallel safe set search_path = '' as $$
  select case status
    when 'sent' then 1          -- accepted by the provider, on its way
    when 'delayed' then 2       -- deferred, a soft bounce: the provider keeps trying
    when 'delivered' then 3
    when 'undelivered' then 4   -- dropped by the provider, or SMS undelivered/failed
    when 'bounced' then 4       -- a hard bounce
    when 'complained' then 5    -- marked as spam after delivery
  end
$$;
comment on function symphony.delivery_rank(text) is
  'Order of delivery statuses, least to most final: sent, delayed, delivered, undelivered | bounced, complained. Null for anything else.';

create table symphony.delivery_events (
  id          bigint generated always as identity primary key,
  -- Purging a message (symphony.purge_finished) purges its events.
  message_id  bigint not null references symphony.messages (id) on delete cascade,
  provider    text not null check (provider in ('resend', 'sendgrid', 'postmark', 'twilio')),
  event_key   text not null check (length(event_key) between 1 and 500),
  provider_event text,
  status      text not null check (symphony.delivery_rank(status) is not null),
  recipient   text,
  reason      text,
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  raw         jsonb,
  constraint delivery_events_key unique (provider, event_key)
);
comment on table symphony.delivery_events is
  'Every distinct delivery event the providers reported for a message (webhooks received by the sidecar). status: sent, delayed, delivered, undelivered, bounced or complained; raw is the provider''s event. result.delivery on the message holds the most final one.';
-- Reading a message's history, and the cascade when messages are purged.
create index delivery_events_message_idx on symphony.delivery_events (message_id);

-- Finding a message by the id its provider gave it. Partial: only sent messages have
-- one, and pending work never enters the index.
create index messages_provider_message_id_idx on symphony.messages ((result ->> 'provider_message_id'))
  where (result ->> 'provider_message_id') is not null;

-- record_delivery records one webhook event and returns what it did:
--   recorded    the message's result.delivery now says this event;
--   superseded  kept in history; result.delivery already holds a more final (or later) one;
--   duplicate   this event (provider, event_key) was recorded before: nothing changed;
--   unknown     no message has this provider id (sent by legacy code, say, or purged);
--   opt_out / opt_in   an SMS opt-out or opt-in with no message (Twilio inbound STOP/START).
-- suppress, when set (bounced, complained, stop, unsubscribed), puts the recipient on
-- the suppression list, also for unknown messages: the address is what bounced. An
-- address already there keeps its first reason. A recipient that is not a valid
-- address of the channel (a WhatsApp number, say) is not suppressed.
create function symphony.record_delivery(
  provider text, provider_message_id text, provider_event text, status text, recipient text, reason text,
  occurred_at timestamptz, suppress text, event_key text, raw jsonb default null)
returns text language plpgsql set search_path = '' as $$
declare
  channel text := case record_delivery.provider when 'twilio' then 'sms' else 'email' end;
  addr text := symphony.normalize_address(channel, record_delivery.recipient);
  msg bigint;
  cur jsonb;
  r text := left(record_delivery.reason, 500);
begin
  if record_delivery.provider not in ('resend', 'sendgrid', 'postmark', 'twilio') then
    raise exception using errcode = '22023', message = format('symphony: record_delivery: unknown provider %L', record_delivery.provider);
  end if;
  if record_delivery.status = 'opt_in' then
    -- Twilio lets the number receive again after START; so do we, unless an operator
    -- or another source suppressed it for another reason.
    delete from symphony.suppressions s where s.channel = 'sms' and s.address = addr and s.reason = 'stop';
    return 'opt_in';
  end if;
  if record_delivery.suppress is not null and addr is not null then
    insert into symphony.suppressions as s (channel, address, reason, source)
    values (channel, addr, record_delivery.suppress, 'webhook:' || record_delivery.provider)
    on conflict on constraint suppressions_pkey do nothing;
  end if;
  if record_delivery.status = 'opt_out' then
    return 'opt_out';
  end if;
  if symphony.delivery_rank(record_delivery.status) is null then
    raise exception using errcode = '22023', message = format('symphony: record_delivery: unknown status %L', record_delivery.status);
  end if;

  -- The row lock orders concurrent events of one message.
  select m.id, m.result -> 'delivery' into msg, cur
    from symphony.messages m
   where (m.result ->> 'provider_message_id') = record_delivery.provider_message_id
     and m.result ->> 'provider' = record_delivery.provider
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
  'Records one provider delivery event (the sidecar''s webhooks call it): result.delivery, symphony.delivery_events, and the suppression list for hard bounces, complaints and opt-outs. Idempotent per (provider, event_key).';

-- The sidecar (the owner's role) calls record_delivery; service_role reads the history
-- like every other table, and changes messages only through the operator functions.
revoke all on table symphony.delivery_events from public;
revoke all on function symphony.delivery_rank(text) from public;
revoke all on function symphony.record_delivery(text, text, text, text, text, text, timestamptz, text, text, jsonb) from public;
revoke all on sequence symphony.delivery_events_id_seq from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on all tables in schema symphony from %I', r);
      execute format('revoke all on all sequences in schema symphony from %I', r);
      execute format('revoke all on all functions in schema symphony from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.delivery_events to service_role;
  end if;
end $$;
