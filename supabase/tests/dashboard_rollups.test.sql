-- The dashboard's rollups (symphony.roll_up) and the campaign-action audit.
begin;
create extension if not exists pgtap;
select plan(9);

select is((select command from cron.job where jobname = 'symphony-rollup'), 'select symphony.roll_up()',
  'pg_cron runs symphony.roll_up()');
select is((select schedule from cron.job where jobname = 'symphony-rollup'), '* * * * *', 'every minute');

-- Hold the roll-up's lock (re-entrant for this session) so the cron job stays out of the way.
select pg_advisory_xact_lock(hashtext('symphony.roll_up'));
insert into symphony.rollup_watermarks (name, upto) values ('messages', date_trunc('minute', now()) - interval '10 minutes')
on conflict (name) do update set upto = excluded.upto;

create temp table m as
select symphony.send_email('a' || g || '@example.com', 'me@example.com', 'hi', 'x') as id, g from generate_series(1, 5) g;
update symphony.messages x
   set state = case when m.g = 4 then 'dead' else 'succeeded' end, attempts = case when m.g = 3 then 2 else 1 end,
       last_error = case when m.g = 4 then 'rejected' end,
       finished_at = case when m.g = 5 then now() else date_trunc('minute', now()) - interval '5 minutes' + interval '10 seconds' end,
       attempted_at = now() - interval '5 minutes', available_at = now() - interval '5 minutes' - interval '30 milliseconds'
  from m where x.id = m.id;

select cmp_ok(symphony.roll_up(), '>', 0, 'roll_up writes the closed minutes');
select results_eq(
  $$select succeeded, dead, retried, failed_attempts, (select sum(x) from unnest(latency) x)::int
      from symphony.message_minutes where minute = date_trunc('minute', now()) - interval '5 minutes' and queue = 'email'$$,
  $$values (3, 1, 1, 2, 3)$$,
  'one row for the minute: 3 succeeded, 1 dead, 1 retried, 2 failed attempts, 3 latencies');
select is((select latency[3] from symphony.message_minutes where minute = date_trunc('minute', now()) - interval '5 minutes'), 3,
  'a 30 ms wait lands in the 25-50 ms bucket');
select is(symphony.roll_up(), 0, 'a second call finds nothing new');
select is((select sum(succeeded)::int from symphony.message_minutes where minute >= date_trunc('minute', now()) - interval '10 minutes'), 3,
  'the message finishing in the current minute waits for it to close');

-- Campaign actions are audited with symphony.actor(), whoever calls.
insert into symphony.campaigns (name, "from", subject, "text") values ('audit test', 'news@example.com', 'Hi', 'Hello');
set local symphony.actor = 'dashboard:Ana';
update symphony.campaigns set status = 'running', started_at = now() where name = 'audit test';
select symphony.pause_campaign((select id from symphony.campaigns where name = 'audit test'));
select symphony.resume_campaign((select id from symphony.campaigns where name = 'audit test'));
select symphony.cancel_campaign((select id from symphony.campaigns where name = 'audit test'), 'test');
select results_eq(
  $$select action, actor, detail from symphony.campaign_actions
     where campaign_id = (select id from symphony.campaigns where name = 'audit test') order by id$$,
  $$values ('pause'::text, 'dashboard:Ana'::text, 'running → paused'::text), ('resume', 'dashboard:Ana', 'paused → running'),
           ('cancel', 'dashboard:Ana', 'running → cancelled')$$,
  'pause, resume and cancel are audited with the actor; starting is not an operator action here');
select ok(not has_table_privilege('service_role', 'symphony.campaign_actions', 'INSERT,UPDATE,DELETE'),
  'service_role reads the audit but cannot write it');

select * from finish();
rollback;
