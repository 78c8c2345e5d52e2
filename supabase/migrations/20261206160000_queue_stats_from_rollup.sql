-- symphony.queue_stats counts finished messages from the per-minute rollup.
--
-- The view counted the last hour's finished messages straight from
-- symphony.messages, so the dashboard's overview (and /status) cost as much as
-- the last hour's traffic: 0.7-1.3 s with 30-80k messages an hour, several
-- seconds at a million. Now every minute symphony.roll_up() has folded into
-- symphony.message_minutes (everything before its watermark) is read from
-- there, and only messages finished since the watermark, normally a minute or
-- two of traffic, are read from symphony.messages through messages_finished_idx.
-- The two parts meet at the watermark, a minute boundary, so the counts are the
-- same whether or not the rollup has run, and a message counts the moment it
-- finishes.
--
-- The windows therefore start on a minute: "5 minutes" is since the start of
-- the minute five minutes before the current one (5 to 6 minutes), "1 hour"
-- likewise; per_minute_* still divide by 5 and 60.
-- _finished_recently counts, per queue, the messages finished since the
-- rollup's watermark (or within the hour, when the rollup is further behind or
-- has not run), through messages_finished_idx. Dynamic SQL, so the planner sees
-- the bound: with it as an unknown parameter it guesses a third of the table and
-- reads it in full (a parallel sequential scan of 11M rows, 2.5 s).
create function symphony._finished_recently()
returns table (queue text, succeeded_5m bigint, dead_5m bigint, succeeded_1h bigint, dead_1h bigint)
language plpgsql stable set search_path = '' as $$
declare
  hour timestamptz := date_trunc('minute', now()) - interval '1 hour';
  five timestamptz := date_trunc('minute', now()) - interval '5 minutes';
  since timestamptz := greatest(hour, (select upto from symphony.rollup_watermarks where name = 'messages'));
begin
  return query execute
    'select m.queue,
            count(*) filter (where m.state = ''succeeded'' and m.finished_at >= $2),
            count(*) filter (where m.state = ''dead'' and m.finished_at >= $2),
            count(*) filter (where m.state = ''succeeded''),
            count(*) filter (where m.state = ''dead'')
       from symphony.messages m
      where m.finished_at >= $1
      group by m.queue'
    using since, five;
end $$;
comment on function symphony._finished_recently() is
  'Per queue, messages finished since the rollup''s watermark (at most the last hour): succeeded and dead since the start of the minute 5 minutes ago and an hour ago. Part of symphony.queue_stats.';
revoke all on function symphony._finished_recently() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony._finished_recently() from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function symphony._finished_recently() to service_role;
  end if;
end $$;

create or replace view symphony.queue_stats with (security_invoker = true) as
-- One branch per partial index (pending, processing, dead, finished by time):
-- a single "state in (...)" scan would read the whole history instead.
with live_parts as (
  select queue,
         count(*) filter (where available_at <= now()) as pending,
         count(*) filter (where available_at > now()) as scheduled,
         count(*) filter (where attempts > 0) as retrying,
         0::bigint as processing,
         min(available_at) filter (where available_at <= now()) as oldest_pending_at
    from symphony.messages
   where state = 'pending'
   group by queue
  union all
  select queue, 0, 0, 0, count(*), null
    from symphony.messages
   where state = 'processing'
   group by queue
), live as (
  select queue, sum(pending) as pending, sum(scheduled) as scheduled, sum(retrying) as retrying,
         sum(processing) as processing, min(oldest_pending_at) as oldest_pending_at
    from live_parts
   group by queue
), dead as (
  select queue, count(*) as dead, max(finished_at) as last_dead_at
    from symphony.messages
   where state = 'dead'
   group by queue
), recent_parts as (
  -- Minutes rolled up: before the watermark.
  select queue,
         sum(succeeded) filter (where minute >= date_trunc('minute', now()) - interval '5 minutes') as succeeded_5m,
         sum(dead) filter (where minute >= date_trunc('minute', now()) - interval '5 minutes') as dead_5m,
         sum(succeeded) as succeeded_1h,
         sum(dead) as dead_1h
    from symphony.message_minutes
   where minute >= date_trunc('minute', now()) - interval '1 hour'
     and minute < (select upto from symphony.rollup_watermarks where name = 'messages')
   group by queue
  union all
  -- Finished since the watermark (symphony._finished_recently).
  select queue, succeeded_5m, dead_5m, succeeded_1h, dead_1h
    from symphony._finished_recently()
), recent as (
  select queue, sum(succeeded_5m) as succeeded_5m, sum(dead_5m) as dead_5m,
         sum(succeeded_1h) as succeeded_1h, sum(dead_1h) as dead_1h
    from recent_parts
   group by queue
), names as (
  select name as queue from symphony.queues
  union select queue from live
  union select queue from dead
  union select queue from recent
)
select n.queue,
       coalesce(l.pending, 0)::bigint    as pending,
       coalesce(l.scheduled, 0)::bigint  as scheduled,
       coalesce(l.retrying, 0)::bigint   as retrying,
       coalesce(l.processing, 0)::bigint as processing,
       coalesce(d.dead, 0)        as dead,
       coalesce(extract(epoch from now() - l.oldest_pending_at), 0)::float8 as oldest_pending_seconds,
       coalesce(r.succeeded_5m, 0)::bigint as succeeded_5m,
       coalesce(r.dead_5m, 0)::bigint      as dead_5m,
       coalesce(r.succeeded_1h, 0)::bigint as succeeded_1h,
       coalesce(r.dead_1h, 0)::bigint      as dead_1h,
       round((coalesce(r.succeeded_5m, 0) + coalesce(r.dead_5m, 0)) / 5.0, 2)  as per_minute_5m,
       round((coalesce(r.succeeded_1h, 0) + coalesce(r.dead_1h, 0)) / 60.0, 2) as per_minute_1h,
       d.last_dead_at
  from names n
  left join live l on l.queue = n.queue
  left join dead d on d.queue = n.queue
  left join recent r on r.queue = n.queue
 order by n.queue;
comment on view symphony.queue_stats is
  'Per queue: pending (due now), scheduled (delayed or backing off), retrying (pending after a failure), processing, dead, the age of the oldest due message, and finished messages since the start of the minute 5 minutes and an hour ago (per_minute_* = succeeded + dead per minute, over 5 and 60). Finished counts come from symphony.message_minutes up to the rollup''s watermark and from symphony.messages after it.';
