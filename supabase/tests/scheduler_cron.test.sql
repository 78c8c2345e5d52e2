-- The pg_cron job that fires due schedules. Runs in the database pg_cron lives in
-- (postgres in the test cluster and on Supabase), like cron.test.sql.
begin;
create extension if not exists pgtap;
select plan(4);

select is((select count(*)::int from cron.job where jobname = 'symphony-scheduler'), 1,
  'there is exactly one symphony-scheduler job');
select is((select command from cron.job where jobname = 'symphony-scheduler'), 'select symphony.run_schedules()',
  'symphony-scheduler runs symphony.run_schedules()');
select is(
  (select schedule from cron.job where jobname = 'symphony-scheduler'),
  (select case
            when split_part(extversion, '.', 1)::int > 1
              or (split_part(extversion, '.', 1)::int = 1
                  and substring(split_part(extversion, '.', 2) from '^[0-9]+')::int >= 5)
            then '5 seconds' else '* * * * *' end
     from pg_extension where extname = 'pg_cron'),
  'symphony-scheduler runs every 5 seconds on pg_cron >= 1.5, every minute before that');
select lives_ok((select command from cron.job where jobname = 'symphony-scheduler'), 'the symphony-scheduler command runs');

select * from finish();
rollback;
