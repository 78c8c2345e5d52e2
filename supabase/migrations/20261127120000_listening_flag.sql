-- Whether any sidecar listens, in a form the insert trigger reads cheaply.
--
-- Under load no sidecar sleeps (busy ones poll), and the insert trigger's one
-- question is "does anybody listen?". It asked symphony.listeners: a query,
-- with an executor started and stopped for it, in every dispatching
-- statement. Measured with one client and no commit wait (so that the CPU
-- shows, not the fsync): the NOTIFY trigger cost 27 µs of server CPU per
-- single-row dispatch, 18 of them that query. The answer now also lives in a
-- one-value sequence, read with pg_sequence_last_value(): a function call
-- without a query, about 4 µs.
--
-- symphony.listening is 1 whenever a listener row may exist (0 means none
-- does). It may say 1 when none does: the trigger then asks the table, as
-- before. It must never say 0 while a row exists, or that sidecar's wake-ups
-- would be lost; hence every change goes through symphony.listen and
-- symphony.unlisten, which take turns under one advisory lock: listen sets 1
-- (before its row commits: at worst a dispatch asks the table for nothing),
-- and unlisten sets 0 only when, with every other change committed or waiting
-- behind the lock, no row is left. Other deletions (a stopped worker's rows,
-- a dead one's, dropped by the heartbeat and the tick) leave it at 1, and the
-- tick puts it right.
--
-- Unlogged, as symphony.listeners is: after a crash both start empty (0).
create unlogged sequence symphony.listening minvalue 0 maxvalue 1 start 0;
comment on sequence symphony.listening is
  '1 when a sidecar may be sleeping on a queue (symphony.listeners), 0 when none is; changed only by symphony.listen, symphony.unlisten and symphony.sync_listening.';

-- The lock the changes take turns under: one key, derived from the table.
create function symphony._listeners_lock() returns void
language sql set search_path = '' as $$
  select pg_catalog.pg_advisory_xact_lock('symphony.listeners'::regclass::oid::bigint)
$$;

create function symphony.listen(queue text, worker_id text) returns void
language plpgsql set search_path = '' as $$
begin
  perform symphony._listeners_lock();
  perform pg_catalog.setval('symphony.listening', 1, true);
  insert into symphony.listeners (queue, worker_id) values (listen.queue, listen.worker_id)
  on conflict do nothing;
end $$;
comment on function symphony.listen(text, text) is
  'Worker worker_id sleeps on queue until notified: dispatches into it NOTIFY from now on.';

create function symphony.unlisten(queue text, worker_id text) returns void
language plpgsql set search_path = '' as $$
begin
  perform symphony._listeners_lock();
  -- Each statement below sees every change committed before the lock was ours.
  delete from symphony.listeners l where l.queue = unlisten.queue and l.worker_id = unlisten.worker_id;
  if not exists (select 1 from symphony.listeners) then
    perform pg_catalog.setval('symphony.listening', 0, true);
  end if;
end $$;
comment on function symphony.unlisten(text, text) is
  'Worker worker_id polls queue while busy: dispatches into it need not NOTIFY for it.';

create function symphony.sync_listening() returns void
language plpgsql set search_path = '' as $$
begin
  perform symphony._listeners_lock();
  perform pg_catalog.setval('symphony.listening',
    case when exists (select 1 from symphony.listeners) then 1 else 0 end, true);
end $$;
comment on function symphony.sync_listening() is
  'Sets symphony.listening from symphony.listeners (the tick calls it after dropping dead sidecars'' rows).';

select symphony.sync_listening();

create or replace function symphony.messages_notify() returns trigger
language plpgsql set search_path = '' as $$
declare
  q text;
begin
  if current_setting('symphony.notify_inserts', true) = 'off' then
    return null;  -- wake-ups come from the WAL feed (or the poll) instead
  end if;
  if pg_catalog.pg_sequence_last_value('symphony.listening'::regclass) = 0 then
    return null;  -- no sidecar sleeps: busy ones claim again on their own
  end if;
  for q in select distinct i.queue from inserted i where i.available_at <= now() loop
    if exists (select 1 from symphony.listeners l where l.queue = q) then
      perform pg_notify('symphony', q);
    end if;
  end loop;
  return null;
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
  if rescued = 0 and exists (
       select 1 from symphony.messages where state = 'pending' and available_at <= now()) then
    perform pg_notify('symphony', '*');
  end if;
  return rescued;
end $$;

revoke all on sequence symphony.listening from public;
revoke all on function symphony._listeners_lock(), symphony.listen(text, text),
  symphony.unlisten(text, text), symphony.sync_listening() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on sequence symphony.listening from %I', r);
      execute format('revoke all on function symphony._listeners_lock(), symphony.listen(text, text), symphony.unlisten(text, text), symphony.sync_listening() from %I', r);
    end if;
  end loop;
  -- The insert trigger runs as the dispatching role and reads the sequence.
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on sequence symphony.listening to service_role;
  end if;
end $$;
