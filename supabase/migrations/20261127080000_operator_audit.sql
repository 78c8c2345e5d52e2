-- Who did what to a message: cancel, retry and remove are operator actions,
-- recorded like flag changes are (symphony.flag_changes), with symphony.actor()
-- (an explicit `set symphony.actor`, else the request's JWT email, else the
-- session user). The symphony CLI and the dashboard set symphony.actor.

create table symphony.message_actions (
  id          bigint generated always as identity primary key,
  message_id  bigint not null,
  action      text not null check (action in ('cancel', 'retry', 'remove')),
  actor       text not null,
  at          timestamptz not null default now(),
  detail      text
);
create index message_actions_message_idx on symphony.message_actions (message_id);
comment on table symphony.message_actions is
  'Audit of operator actions on messages: cancel, retry, remove. Kept after a removed message is gone.';

create or replace function symphony.cancel(message_id bigint, reason text default null) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  who text := symphony.actor();
begin
  update symphony.messages
     set state = 'cancelled', cancelled_by = who, finished_at = now(),
         last_error = coalesce(reason, last_error), locked_by = null, locked_until = null
   where id = message_id and state = 'pending';
  if not found then
    return false;
  end if;
  insert into symphony.message_actions (message_id, action, actor, detail) values (cancel.message_id, 'cancel', who, reason);
  return true;
end $$;

create or replace function symphony.retry(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  q text;
  was text;
begin
  select state into was from symphony.messages where id = message_id for update;
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

create or replace function symphony.remove_dead(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  err text;
begin
  delete from symphony.messages where id = message_id and state = 'dead' returning last_error into err;
  if not found then
    return false;
  end if;
  insert into symphony.message_actions (message_id, action, actor, detail)
  values (remove_dead.message_id, 'remove', symphony.actor(), err);
  return true;
end $$;

revoke all on symphony.message_actions from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on symphony.message_actions from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.message_actions to service_role;
  end if;
end $$;
