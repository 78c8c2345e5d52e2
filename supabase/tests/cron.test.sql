-- pg_cron jobs. Runs in the database pg_cron lives in (cron.database_name; postgres in
-- the test cluster and on Supabase), where the migration schedules its jobs.
begin;
create extension if not exists pgtap;
select plan(16);

select has_extension('pg_cron', 'pg_cron is installed in this database');
select is((select extnamespace::regnamespace::text from pg_extension where extname = 'pg_cron'), 'pg_catalog',
  'pg_cron is installed in pg_catalog, as on Supabase, not in public (the Advisor''s extension_in_public)');

select is((select count(*)::int from cron.job where jobname = 'symphony-tick'), 1, 'there is exactly one symphony-tick job');
select is((select count(*)::int from cron.job where jobname = 'symphony-purge'), 1, 'there is exactly one symphony-purge job');

select is((select command from cron.job where jobname = 'symphony-tick'), 'select symphony.tick()',
  'symphony-tick runs symphony.tick()');
select is((select command from cron.job where jobname = 'symphony-purge'), 'select symphony.purge_finished()',
  'symphony-purge runs symphony.purge_finished()');

-- Second-level schedules arrived in pg_cron 1.5; before that the finest is once a minute.
-- extversion looks like '1.4-1' or '1.6'.
select is(
  (select schedule from cron.job where jobname = 'symphony-tick'),
  (select case
            when split_part(extversion, '.', 1)::int > 1
              or (split_part(extversion, '.', 1)::int = 1
                  and substring(split_part(extversion, '.', 2) from '^[0-9]+')::int >= 5)
            then '5 seconds' else '* * * * *' end
     from pg_extension where extname = 'pg_cron'),
  'symphony-tick runs every 5 seconds on pg_cron >= 1.5, every minute before that');
select is((select schedule from cron.job where jobname = 'symphony-purge'), '17 3 * * *',
  'symphony-purge runs once a day');

select is_empty(
  $$select jobname from cron.job
     where jobname in ('symphony-tick', 'symphony-purge')
       and not (active and database = current_database())$$,
  'both jobs are active and run in this database');
select is_empty(
  $$select jobname from cron.job
     where jobname in ('symphony-tick', 'symphony-purge')
       and not has_function_privilege(username,
             case jobname when 'symphony-tick' then 'symphony.tick()'
                          else 'symphony.purge_finished(interval, integer)' end, 'EXECUTE')$$,
  'each job''s user may execute the function it runs');

-- The jobs' commands run as written.
select lives_ok((select command from cron.job where jobname = 'symphony-tick'), 'the symphony-tick command runs');
select lives_ok((select command from cron.job where jobname = 'symphony-purge'), 'the symphony-purge command runs');

-- tick() returns an integer: the number of rescued leases.
select function_returns('symphony', 'tick', array[]::text[], 'integer', 'symphony.tick() is declared to return integer');
select is(pg_typeof(symphony.tick())::text, 'integer', 'symphony.tick() runs and returns an integer');

-- A tick rescues an expired lease, so a crashed sidecar's work is found without it.
insert into symphony.messages (kind, payload, meta)
values ('sms.send', '{"to": "+14155550100", "body": "hi"}', '{"case": "cron-expired"}');
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'crashed-worker',
       locked_until = now() - interval '1 minute'
 where meta ->> 'case' = 'cron-expired';
select cmp_ok(symphony.tick(), '>=', 1, 'symphony.tick() reports the rescued lease');
select is((select state from symphony.messages where meta ->> 'case' = 'cron-expired'), 'pending',
  'symphony.tick() returns a message with an expired lease to pending');

select * from finish();
rollback;
