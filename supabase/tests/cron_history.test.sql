-- pg_cron's run history of Symphony's jobs stays bounded (symphony-cron-history). Runs in
-- the database pg_cron lives in, like cron.test.sql.
begin;
create extension if not exists pgtap;
select plan(8);

select is((select schedule from cron.job where jobname = 'symphony-cron-history'), '*/15 * * * *',
  'symphony-cron-history runs every 15 minutes');
select is((select command from cron.job where jobname = 'symphony-cron-history'),
  'select symphony.purge_cron_history()', 'symphony-cron-history runs symphony.purge_cron_history()');
select ok((select has_function_privilege(username, 'symphony.purge_cron_history(interval, interval)', 'EXECUTE')
             from cron.job where jobname = 'symphony-cron-history'),
  'the job''s user may execute the function');
select ok(not has_function_privilege('service_role', 'symphony.purge_cron_history(interval, interval)', 'EXECUTE'),
  'service_role may not purge pg_cron''s history');

-- What pg_cron's own runs left in a cluster that has been up for more than an
-- hour goes first, so that the count below is the fixture's alone.
select symphony.purge_cron_history();
-- History as pg_cron writes it: ours (5-second ticks) and an app's own job.
select cron.schedule('app-nightly', '0 4 * * *', 'select 1');
create temp table runs as
select v.*, nextval('cron.runid_seq') as runid
  from (values ('tick ok 2h',      'symphony-tick',      'succeeded', interval '2 hours'),
               ('tick ok 10m',     'symphony-tick',      'succeeded', interval '10 minutes'),
               ('tick failed 2h',  'symphony-tick',      'failed',    interval '2 hours'),
               ('sched failed 8d', 'symphony-scheduler', 'failed',    interval '8 days'),
               ('app ok 30d',      'app-nightly',        'succeeded', interval '30 days')) v(label, job, status, age);
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
select j.jobid, r.runid, 1, current_database(), j.username, j.command, r.status, '',
       now() - r.age - interval '1 second', now() - r.age
  from runs r join cron.job j on j.jobname = r.job;

select is(symphony.purge_cron_history(), 2::bigint,
  'a purge deletes our successful runs older than an hour and our runs older than 7 days');
select set_eq($$select label from runs where runid in (select runid from cron.job_run_details)$$,
  $$values ('tick ok 10m'), ('tick failed 2h'), ('app ok 30d')$$,
  'recent runs, failures under 7 days old and other jobs'' history stay');
select is(symphony.purge_cron_history(), 0::bigint, 'a second purge finds nothing more');
select throws_ok($$select symphony.purge_cron_history(null)$$, '22023', null, 'a purge needs its intervals');

select * from finish();
rollback;
