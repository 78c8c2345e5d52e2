-- Operations views and remove_dead: what `symphony status`, /status, the dashboard
-- and Supabase Studio show, and that removing touches dead messages only.
--
-- Rows are put into their states with direct UPDATEs as the table owner, standing in
-- for the sidecar. Every assertion is scoped to queues and workers this file creates,
-- so other data in a shared test database cannot change the result.
begin;
create extension if not exists pgtap;
select plan(37);

select has_view('symphony', 'queue_stats', 'view symphony.queue_stats exists');
select has_view('symphony', 'recent_failures', 'view symphony.recent_failures exists');
select has_view('symphony', 'worker_status', 'view symphony.worker_status exists');
select has_view('symphony', 'flag_status', 'view symphony.flag_status exists');
select has_function('symphony', 'remove_dead', array['bigint'], 'function symphony.remove_dead(bigint) exists');

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace = 'symphony'::regnamespace and c.relkind = 'v'
     and c.relname in ('queue_stats', 'recent_failures', 'worker_status', 'flag_status')
     and not coalesce('security_invoker=true' = any(c.reloptions), false)
$$, 'every operations view is security_invoker (reads with the caller''s privileges)');

-- queue_stats reads finished counts from the rollup before its watermark and from
-- symphony.messages after it. This file's messages are not committed, so pg_cron's
-- roll_up (which runs in this database) never sees them: hold its lock, and put the
-- watermark before the fixtures, so its next run cannot leave them behind it.
select pg_advisory_xact_lock(hashtext('symphony.roll_up'));
insert into symphony.rollup_watermarks (name, upto) values ('messages', date_trunc('minute', now()) - interval '3 hours')
on conflict (name) do update set upto = excluded.upto;

-- ---------------------------------------------------------------------------
-- Fixtures: queue ops_a with one message in each interesting state.
-- ---------------------------------------------------------------------------
select symphony.register_kind('ops.test', 'ops_a', 3);
create temp table ids (name text primary key, id bigint);
insert into ids
select v.name, symphony.dispatch('ops.test', jsonb_build_object('to', v.name || '@example.com', 'n', v.name))
  from (values ('due1'), ('due2'), ('later'), ('retrying'), ('processing'), ('dead_old'), ('dead_new'),
               ('ok_recent'), ('ok_hour'), ('ok_old'), ('cancelled')) v(name);

update symphony.messages set available_at = now() - interval '90 seconds' where id = (select id from ids where name = 'due1');
update symphony.messages set available_at = now() + interval '1 hour' where id = (select id from ids where name = 'later');
update symphony.messages set attempts = 1, available_at = now() + interval '5 minutes', last_error = 'provider http 503: try later',
       errors = jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now() - interval '10 seconds', 'error', 'provider http 503: try later', 'code', '503', 'maybe_sent', true))
 where id = (select id from ids where name = 'retrying');
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'ops-worker-alive', locked_until = now() + interval '1 minute'
 where id = (select id from ids where name = 'processing');
update symphony.messages set state = 'dead', attempts = 3, finished_at = now() - interval '2 hours', last_error = 'gave up after 3 attempts',
       errors = '[{"attempt": 3, "code": "timeout", "maybe_sent": false, "error": "gave up"}]'
 where id = (select id from ids where name = 'dead_old');
update symphony.messages set state = 'dead', attempts = 1, finished_at = now() - interval '1 minute', last_error = 'invalid recipient',
       errors = '[{"attempt": 1, "code": "21211", "maybe_sent": false, "error": "invalid recipient"}]'
 where id = (select id from ids where name = 'dead_new');
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() - interval '1 minute' where id = (select id from ids where name = 'ok_recent');
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() - interval '30 minutes' where id = (select id from ids where name = 'ok_hour');
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() - interval '3 hours' where id = (select id from ids where name = 'ok_old');
select symphony.cancel((select id from ids where name = 'cancelled'), 'test');

-- ---------------------------------------------------------------------------
-- queue_stats
-- ---------------------------------------------------------------------------
select results_eq(
  $$select pending, scheduled, retrying, processing, dead from symphony.queue_stats where queue = 'ops_a'$$,
  $$values (2::bigint, 2::bigint, 1::bigint, 1::bigint, 2::bigint)$$,
  'queue_stats counts due, scheduled (delayed and backing off), retrying, processing and dead');
select results_eq(
  $$select succeeded_5m, dead_5m, succeeded_1h, dead_1h from symphony.queue_stats where queue = 'ops_a'$$,
  $$values (1::bigint, 1::bigint, 2::bigint, 1::bigint)$$,
  'queue_stats counts finished messages over the last 5 minutes and hour, not older ones');
select is((select per_minute_5m from symphony.queue_stats where queue = 'ops_a'), 0.40,
  'per_minute_5m is (succeeded + dead) in 5 minutes / 5');

-- The same counts once roll_up has folded the closed minutes into message_minutes
-- (ok_hour and the older ones; ok_recent and dead_new finished after its cutoff).
select cmp_ok(symphony.roll_up(), '>', 0, 'roll_up folds the closed minutes (this transaction''s too)');
select results_eq(
  $$select succeeded_5m, dead_5m, succeeded_1h, dead_1h, per_minute_5m from symphony.queue_stats where queue = 'ops_a'$$,
  $$values (1::bigint, 1::bigint, 2::bigint, 1::bigint, 0.40)$$,
  'queue_stats counts the same after the roll-up: message_minutes before the watermark, messages after it');
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() where id = (select id from ids where name = 'due2');
select results_eq(
  $$select succeeded_5m, succeeded_1h from symphony.queue_stats where queue = 'ops_a'$$,
  $$values (2::bigint, 3::bigint)$$,
  'a message counts the moment it finishes, after a roll-up too');
update symphony.messages set state = 'pending', attempts = 0, finished_at = null where id = (select id from ids where name = 'due2');
insert into symphony.message_minutes (minute, queue, succeeded, dead, latency)
values (date_trunc('minute', now()) - interval '10 minutes', 'ops_rolled', 7, 1, '{}');
select results_eq(
  $$select succeeded_5m, succeeded_1h, dead_1h from symphony.queue_stats where queue = 'ops_rolled'$$,
  $$values (0::bigint, 7::bigint, 1::bigint)$$,
  'before the watermark, queue_stats reads the rollup, not the messages');
select ok((select oldest_pending_seconds between 89 and 120 from symphony.queue_stats where queue = 'ops_a'),
  'oldest_pending_seconds is the age of the oldest due message');
select ok((select last_dead_at > now() - interval '2 minutes' from symphony.queue_stats where queue = 'ops_a'),
  'last_dead_at is the newest dead message''s finish time');
select results_eq(
  $$select pending, processing, dead, oldest_pending_seconds from symphony.queue_stats where queue = 'drip'$$,
  $$values (0::bigint, 0::bigint, 0::bigint, 0::float8)$$,
  'a configured queue with no messages has a row of zeros');
select is((select count(*)::int from symphony.queue_stats where queue = 'ops_a'), 1, 'one row per queue');

-- queue_stats_bounded: the view's one definition, which the overview and `symphony
-- status` read with a cap (the recipe in docs/operations.md).
select results_eq(
  $$select queue, pending, scheduled, retrying, processing, dead, succeeded_5m, dead_5m, succeeded_1h,
           dead_1h, per_minute_5m, per_minute_1h, last_dead_at, pending_capped
      from symphony.queue_stats_bounded(10000) where queue in ('ops_a', 'ops_rolled', 'drip') order by queue$$,
  $$select queue, pending, scheduled, retrying, processing, dead, succeeded_5m, dead_5m, succeeded_1h,
           dead_1h, per_minute_5m, per_minute_1h, last_dead_at, false
      from symphony.queue_stats where queue in ('ops_a', 'ops_rolled', 'drip') order by queue$$,
  'below the cap, queue_stats_bounded has the view''s counts, none capped');
select results_eq(
  $$select pending + scheduled <= 2, pending_capped from symphony.queue_stats_bounded(1) where queue = 'ops_a'$$,
  $$values (true, true)$$,
  'over the cap, queue_stats_bounded counts at most cap + 1 pending rows and says so');
select results_eq(
  $$select queue, pending, pending_capped from symphony.queue_stats_bounded(10000) where queue = 'ops_a'$$,
  $$values ('ops_a'::text, 2::bigint, false)$$,
  'the docs'' recipe runs as written');

-- ---------------------------------------------------------------------------
-- recent_failures
-- ---------------------------------------------------------------------------
select results_eq(
  $$select f.id, f.state from symphony.recent_failures f where f.queue = 'ops_a'$$,
  $$select id, s from (values ('retrying', 'pending', 1), ('dead_new', 'dead', 2), ('dead_old', 'dead', 3)) v(name, s, ord)
      join ids using (name) order by ord$$,
  'recent_failures lists dead and retry-waiting messages, newest failure first; nothing else');
select results_eq(
  $$select reason, code, maybe_sent, recipient, retry_at is not null
      from symphony.recent_failures where id = (select id from ids where name = 'retrying')$$,
  $$values ('provider http 503: try later', '503', true, 'retrying@example.com', true)$$,
  'a retrying failure carries its reason, code, maybe_sent, recipient and retry time');
select results_eq(
  $$select reason, code, retry_at is null from symphony.recent_failures where id = (select id from ids where name = 'dead_new')$$,
  $$values ('invalid recipient', '21211', true)$$,
  'a dead failure carries its reason and code and no retry time');
select is(
  (select count(*)::int from symphony.recent_failures where id = (select id from ids where name = 'cancelled')), 0,
  'a cancelled message is not a failure');

-- ---------------------------------------------------------------------------
-- worker_status
-- ---------------------------------------------------------------------------
insert into symphony.workers (id, hostname, version, heartbeat_at, stopped_at) values
  ('ops-worker-alive', 'h1', 'v1', now() - interval '5 seconds', null),
  ('ops-worker-stale', 'h2', 'v1', now() - interval '2 minutes', null),
  ('ops-worker-stopped', 'h3', 'v1', now() - interval '1 hour', now() - interval '1 hour'),
  ('ops-worker-gone', 'h4', 'v1', now() - interval '3 days', now() - interval '3 days');
select results_eq(
  $$select id, status, processing from symphony.worker_status where id like 'ops-worker-%' order by id$$,
  $$values ('ops-worker-alive', 'alive', 1::bigint), ('ops-worker-stale', 'stale', 0::bigint), ('ops-worker-stopped', 'stopped', 0::bigint)$$,
  'worker_status: alive, stale after 30 s without a beat, stopped; in-flight count; long-stopped workers left out');
select ok((select heartbeat_age_seconds between 110 and 180 from symphony.worker_status where id = 'ops-worker-stale'),
  'heartbeat_age_seconds is the time since the last beat');

-- ---------------------------------------------------------------------------
-- flag_status
-- ---------------------------------------------------------------------------
update symphony.flags set enabled = false where name = 'symphony';
update symphony.flags set enabled = true, rollout_percent = 25 where name = 'email_queue';
select is((select effective_percent from symphony.flag_status where name = 'email_queue'), 0,
  'effective_percent is 0 while the master switch is off');
set local symphony.actor = 'ops-test-operator';
update symphony.flags set enabled = true where name = 'symphony';
select results_eq(
  $$select name, effective_percent from symphony.flag_status where name in ('symphony', 'email_queue', 'sms_drip')$$,
  $$values ('symphony', 100), ('email_queue', 25), ('sms_drip', 0)$$,
  'effective_percent: 100 for the master switch, the rollout for an enabled flag, 0 for a disabled one; master first');
select is((select last_changed_by from symphony.flag_status where name = 'symphony'), 'ops-test-operator',
  'flag_status shows who made the last audited change');

-- ---------------------------------------------------------------------------
-- remove_dead: dead rows only.
-- ---------------------------------------------------------------------------
select ok(symphony.remove_dead((select id from ids where name = 'dead_old')), 'remove_dead deletes a dead message');
select is((select count(*)::int from symphony.messages where id = (select id from ids where name = 'dead_old')), 0,
  'the removed message is gone');
select is(
  (select count(*)::int from ids where name in ('due1', 'later', 'retrying', 'processing', 'ok_recent', 'cancelled')
      and symphony.remove_dead(id)), 0,
  'remove_dead refuses pending, scheduled, retrying, processing, succeeded and cancelled messages');
select is((select count(*)::int from symphony.messages m join ids using (id)
            where ids.name in ('due1', 'later', 'retrying', 'processing', 'ok_recent', 'cancelled')), 6,
  'and they are all still there');

-- ---------------------------------------------------------------------------
-- Access.
-- ---------------------------------------------------------------------------
select ok(has_table_privilege('service_role', 'symphony.queue_stats', 'SELECT')
      and has_table_privilege('service_role', 'symphony.recent_failures', 'SELECT')
      and has_table_privilege('service_role', 'symphony.worker_status', 'SELECT')
      and has_table_privilege('service_role', 'symphony.flag_status', 'SELECT'),
  'service_role reads every operations view');
select ok(has_function_privilege('service_role', 'symphony.remove_dead(bigint)', 'EXECUTE'), 'service_role may remove dead messages');
select ok(not has_table_privilege('service_role', 'symphony.queue_stats', 'INSERT,UPDATE,DELETE'), 'service_role cannot write the views');
select is_empty($$
  select r, v from unnest(array['anon', 'authenticated', 'public']) r,
                   unnest(array['symphony.queue_stats', 'symphony.recent_failures', 'symphony.worker_status', 'symphony.flag_status']) v
   where has_table_privilege(r, v, 'SELECT')
$$, 'anon, authenticated and PUBLIC read no operations view');

select * from finish();
rollback;
