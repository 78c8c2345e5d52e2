-- symphony.retry refuses a bridged message that is no longer Symphony's to send.
--
-- A rollback (a bridge's flag turned off) cancels the bridged messages Symphony had
-- not started and hands their rows back to the legacy system, which then sends
-- them. Retrying such a message sent it from Symphony as well while the legacy row
-- stayed pending: both systems sent it (DESIGN invariant 3). The same holds for a
-- message whose bridge row was routed again and now names a newer message.
-- Retrying them is refused with an error that says whose the row is. A bridged
-- message Symphony still owns (one that died here, say) is retried as before.

create or replace function symphony.retry(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  q text;
  was text;
  msg symphony.messages;
  r symphony.bridge_rows;
begin
  select * into msg from symphony.messages where id = message_id for update;
  was := msg.state;
  if msg.meta ? 'bridge' and msg.state in ('dead', 'cancelled') then
    select * into r from symphony.bridge_rows
     where bridge = msg.meta ->> 'bridge' and source_id = msg.meta ->> 'source_id';
    if r.owner = 'legacy' or msg.cancelled_by like 'rollback:%' then
      raise exception using errcode = '55000',
        message = format('symphony: message %s was handed back to the legacy system (bridge %s, row %s), which sends it; retrying it here would send it twice',
                         message_id, msg.meta ->> 'bridge', msg.meta ->> 'source_id'),
        hint = 'Send it from the legacy system; to move the row to Symphony, insert it again with the flag on.';
    end if;
    if found and r.message_id is distinct from message_id then
      raise exception using errcode = '55000',
        message = format('symphony: message %s is no longer the message of bridge %s row %s (now %s); retrying it could send that row twice',
                         message_id, msg.meta ->> 'bridge', msg.meta ->> 'source_id', coalesce(r.message_id::text, 'none')),
        hint = 'Retry the row''s current message, if any.';
    end if;
  end if;
  update symphony.messages
     set state = 'pending', attempts = 0, available_at = now(), finished_at = null,
         cancelled_by = null, result = null
   where id = message_id and state in ('dead', 'cancelled')
  returning queue into q;
  if q is null then
    return false;
  end if;
  insert into symphony.message_actions (message_id, action, actor, detail)
  values (retry.message_id, 'retry', symphony.actor(), 'was ' || was);
  perform pg_notify('symphony', q);
  return true;
end $$;
comment on function symphony.retry(bigint) is
  'Send a dead or cancelled message again from its first attempt; its error history is kept. Refused for a bridged message handed back to the legacy system.';

revoke all on function symphony.retry(bigint) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.retry(bigint) from %I', r);
    end if;
  end loop;
end $$;
