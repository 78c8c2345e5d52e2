-- The completion path writes one index entry fewer per message sent by the log provider.
--
-- Delivery webhooks find a message by the id its provider gave it
-- (messages_provider_message_id_idx). The log provider's captures have ids too, but
-- no provider ever reports delivery events for them, so indexing them only made each
-- completion insert one more index entry (about 80 bytes of WAL and two buffer
-- visits per message, measured with the claim + complete loop of bench/NOTES.md).
-- The index now leaves them out, and record_delivery's lookup states the same
-- condition so the planner can use the partial index.
--
-- Rebuilding the index reads symphony.messages once and blocks writes meanwhile (a
-- migration runs in a transaction, so not CONCURRENTLY): on a table with millions of
-- finished rows, purge first or apply at a quiet moment.
drop index if exists symphony.messages_provider_message_id_idx;
create index messages_provider_message_id_idx on symphony.messages ((result ->> 'provider_message_id'))
  where (result ->> 'provider_message_id') is not null and (result ->> 'provider') <> 'log';

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
