-- Symphony Messenger: keep pg_cron's run history of our own jobs bounded.
--
-- pg_cron records every run in cron.job_run_details and never deletes a row. On
-- pg_cron >= 1.5 (Supabase runs 1.6) symphony-tick and symphony-scheduler run every
-- 5 seconds: 34,560 rows a day, for ever. Turning cron.log_run off is a server
-- setting a project's postgres role cannot change, and it would hide every other
-- job's history too. So a job of ours deletes our jobs' old rows, and only those:
-- successful runs after an hour, every run (failures included) after 7 days. That
-- holds about 1,800 rows for the two 5-second jobs, whatever the uptime.
--
-- On Supabase, postgres (which runs these jobs) may delete from
-- cron.job_run_details but not write cron.job; this needs only the former.

-- purge_cron_history deletes the run history of jobs named symphony-*; returns how
-- many rows went. Without pg_cron it does nothing.
create function symphony.purge_cron_history(keep_succeeded interval default interval '1 hour',
                                            keep_failed interval default interval '7 days')
returns bigint language plpgsql set search_path = '' as $$
declare
  n bigint;
begin
  if keep_succeeded is null or keep_failed is null then
    raise exception using errcode = '22023', message = 'symphony: purge_cron_history needs both keep intervals';
  end if;
  if to_regclass('cron.job_run_details') is null then
    return 0;
  end if;
  -- A run that never finished (its worker died) has no end_time: its start counts.
  delete from cron.job_run_details d
   using cron.job j
   where j.jobid = d.jobid
     and j.jobname like 'symphony-%'
     and coalesce(d.end_time, d.start_time)
         < now() - case when d.status = 'succeeded' then keep_succeeded else keep_failed end;
  get diagnostics n = row_count;
  return n;
end $$;
comment on function symphony.purge_cron_history(interval, interval) is
  'Delete pg_cron''s run history of the symphony-* jobs: successful runs older than keep_succeeded (1 hour), any run older than keep_failed (7 days). Run by pg_cron (symphony-cron-history) every 15 minutes.';

revoke all on function symphony.purge_cron_history(interval, interval) from public;

-- Every 15 minutes, where pg_cron exists (as for symphony-tick).
do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('symphony-cron-history', '*/15 * * * *', 'select symphony.purge_cron_history()');
  end if;
end $$;
