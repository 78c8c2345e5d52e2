-- symphony.listening: the insert trigger's cheap answer to "does any sidecar
-- sleep on a queue?". It may say 1 with nobody listening (the trigger then asks
-- symphony.listeners); it must never say 0 while a listener row exists.
-- setval() is not transactional: every check below first sets the sequence
-- from the table (sync_listening), so leftovers of other tests do not matter.
begin;
create extension if not exists pgtap;
select plan(12);

delete from symphony.listeners;
select symphony.sync_listening();
select is(pg_sequence_last_value('symphony.listening'), 0::bigint, 'nobody listening: 0');

select symphony.listen('email', 'tap-a');
select is(pg_sequence_last_value('symphony.listening'), 1::bigint, 'listen(): 1');
select results_eq($$select queue, worker_id from symphony.listeners$$, $$values ('email'::text, 'tap-a'::text)$$,
  'listen() records the listener');
select lives_ok($$select symphony.listen('email', 'tap-a')$$, 'listening twice is harmless');
select symphony.listen('sms', 'tap-b');
select symphony.unlisten('email', 'tap-a');
select is(pg_sequence_last_value('symphony.listening'), 1::bigint, 'one of two listeners gone: still 1');
select symphony.unlisten('sms', 'tap-b');
select is(pg_sequence_last_value('symphony.listening'), 0::bigint, 'the last listener gone: 0');
select is((select count(*) from symphony.listeners), 0::bigint, 'unlisten() removes the rows');

-- A row dropped another way (a stopped or dead worker's) leaves 1 behind: a
-- dispatch then asks the table and notifies nobody; the tick puts it right.
insert into symphony.workers (id, hostname, version, queues, heartbeat_at)
values ('tap-dead', 'h', 'v', '{}', now() - interval '1 hour');
select symphony.listen('email', 'tap-dead');
select lives_ok($$select symphony.dispatch('email.send', '{"to": "a@example.com", "from": "b@example.com", "subject": "s", "text": "t"}')$$,
  'a dispatch with a listener row succeeds');
delete from symphony.listeners;
select is(pg_sequence_last_value('symphony.listening'), 1::bigint, 'a row deleted directly leaves 1 (safe: the trigger asks the table)');
select lives_ok($$select symphony.dispatch('email.send', '{"to": "a@example.com", "from": "b@example.com", "subject": "s", "text": "t"}')$$,
  'a dispatch with 1 and no listener row succeeds');
select symphony.listen('email', 'tap-dead');
select symphony.tick();
select is(pg_sequence_last_value('symphony.listening'), 0::bigint, 'the tick drops a dead worker''s row and sets 0');

-- The trigger reads the sequence as the dispatching role.
select ok(not exists (
  select 1 from unnest(array['anon', 'authenticated']) r(role)
   where exists (select 1 from pg_roles where rolname = r.role)
     and has_sequence_privilege(r.role, 'symphony.listening', 'select'))
  and (not exists (select 1 from pg_roles where rolname = 'service_role')
       or has_sequence_privilege('service_role', 'symphony.listening', 'select')),
  'service_role may read symphony.listening; anon and authenticated may not');

select * from finish();
rollback;
