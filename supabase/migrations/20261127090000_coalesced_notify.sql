-- NOTIFY only when a sidecar is listening. A NOTIFY costs the dispatching
-- transaction a global lock at commit: with 8 clients dispatching single rows
-- it halved throughput. A sidecar that is busy does not need it (it claims
-- again as soon as it has room), so a sidecar registers here only while it
-- sleeps on a queue, and the insert trigger notifies only queues someone
-- sleeps on. Under load sidecars poll every few milliseconds instead and
-- dispatches send no NOTIFY at all; idle, a dispatch wakes them in about a
-- millisecond, as before.
--
-- Unlogged: this is the state of live connections, worthless after a crash.

create unlogged table symphony.listeners (
  queue      text not null,
  worker_id  text not null,
  since      timestamptz not null default now(),
  primary key (queue, worker_id)
);
comment on table symphony.listeners is
  'Sidecars sleeping on a queue until notified. Dispatches NOTIFY only queues listed here; busy sidecars poll instead.';

create or replace function symphony.messages_notify() returns trigger
language plpgsql set search_path = '' as $$
declare
  q text;
begin
  if current_setting('symphony.notify_inserts', true) = 'off' then
    return null;  -- wake-ups come from the WAL feed (or the poll) instead
  end if;
  for q in select distinct i.queue from inserted i where i.available_at <= now() loop
    if exists (select 1 from symphony.listeners l where l.queue = q) then
      perform pg_notify('symphony', q);
    end if;
  end loop;
  return null;
end $$;

-- The tick also clears listeners of sidecars that stopped beating without
-- saying goodbye, so dispatches stop notifying for them.
create or replace function symphony.tick() returns integer
language plpgsql set search_path = '' as $$
declare
  rescued integer := symphony.rescue_expired();
begin
  delete from symphony.listeners l
   where not exists (select 1 from symphony.workers w
                      where w.id = l.worker_id and w.stopped_at is null
                        and w.heartbeat_at > now() - interval '2 minutes');
  if rescued = 0 and exists (
       select 1 from symphony.messages where state = 'pending' and available_at <= now()) then
    perform pg_notify('symphony', '*');
  end if;
  return rescued;
end $$;

revoke all on symphony.listeners from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on symphony.listeners from %I', r);
    end if;
  end loop;
  -- The insert trigger runs as the dispatching role and reads this table.
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.listeners to service_role;
  end if;
end $$;
