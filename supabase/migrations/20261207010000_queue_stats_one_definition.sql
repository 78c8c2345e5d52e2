-- One definition of every queue's depth, failures and throughput.
--
-- The symphony.queue_stats view and the dashboard's overview (sql/ops_queue_stats.sql)
-- each spelled out the same columns: the overview with its pending counts bounded by
-- symphony.queue_depth_bounded, the view counting every pending row. Both now read
-- symphony.queue_stats_bounded(cap): the overview with its cap, the view with none
-- (a null cap reads every pending row, so its counts stay exact).

-- ---------------------------------------------------------------------------
-- queue_stats_bounded: one row per queue. pending counts messages due now; scheduled
-- those delayed or waiting out a retry backoff (retrying says how many of all
-- pending rows have failed before), each among at most cap + 1 pending rows a queue
-- (symphony.queue_depth_bounded; pending_capped then says "at least"; a null cap
-- reads them all). Throughput counts finished messages: every minute
-- symphony.roll_up() has folded (everything before its watermark) from
-- symphony.message_minutes, and only what finished since, normally a minute or two
-- of traffic, from symphony.messages (_finished_recently), so the cost does not grow
-- with the hour's traffic. The parts meet at the watermark, a minute boundary: the
-- counts are the same whether or not the rollup has run, and the windows start on a
-- minute ("5 minutes" is 5 to 6 minutes; per_minute_* still divide by 5 and 60).
-- ---------------------------------------------------------------------------
create function symphony.queue_stats_bounded(cap integer)
returns table (queue text, pending bigint, scheduled bigint, retrying bigint, processing bigint, dead bigint,
               oldest_pending_seconds float8, succeeded_5m bigint, dead_5m bigint, succeeded_1h bigint,
               dead_1h bigint, per_minute_5m numeric, per_minute_1h numeric, last_dead_at timestamptz,
               pending_capped boolean)
-- No JIT, as in queue_depth_bounded: a deep backlog's estimates made PostgreSQL
-- compile what runs in milliseconds.
language sql stable set search_path = '' set jit = off as $$
  -- One branch per partial index (pending, processing, dead, finished by time):
  -- a single "state in (...)" scan would read the whole history instead.
  with live as (
    select b.queue, b.pending, b.scheduled, b.retrying, b.pending_capped, b.oldest_pending_seconds
      from symphony.queue_depth_bounded(cap) b
  ), processing as (
    select m.queue, count(*) as processing
      from symphony.messages m
     where m.state = 'processing'
     group by m.queue
  ), dead as (
    select m.queue, count(*) as dead, max(m.finished_at) as last_dead_at
      from symphony.messages m
     where m.state = 'dead'
     group by m.queue
  ), recent_parts as (
    -- Minutes rolled up: before the watermark.
    select mm.queue,
           sum(mm.succeeded) filter (where mm.minute >= date_trunc('minute', now()) - interval '5 minutes') as succeeded_5m,
           sum(mm.dead) filter (where mm.minute >= date_trunc('minute', now()) - interval '5 minutes') as dead_5m,
           sum(mm.succeeded) as succeeded_1h,
           sum(mm.dead) as dead_1h
      from symphony.message_minutes mm
     where mm.minute >= date_trunc('minute', now()) - interval '1 hour'
       and mm.minute < (select w.upto from symphony.rollup_watermarks w where w.name = 'messages')
     group by mm.queue
    union all
    -- Finished since the watermark.
    select f.queue, f.succeeded_5m, f.dead_5m, f.succeeded_1h, f.dead_1h
      from symphony._finished_recently() f
  ), recent as (
    select rp.queue, sum(rp.succeeded_5m) as succeeded_5m, sum(rp.dead_5m) as dead_5m,
           sum(rp.succeeded_1h) as succeeded_1h, sum(rp.dead_1h) as dead_1h
      from recent_parts rp
     group by rp.queue
  ), names as (
    select q.name as queue from symphony.queues q
    union select live.queue from live
    union select processing.queue from processing
    union select dead.queue from dead
    union select recent.queue from recent
  )
  select n.queue,
         coalesce(l.pending, 0)::bigint,
         coalesce(l.scheduled, 0)::bigint,
         coalesce(l.retrying, 0)::bigint,
         coalesce(p.processing, 0)::bigint,
         coalesce(d.dead, 0)::bigint,
         coalesce(l.oldest_pending_seconds, 0)::float8,
         coalesce(r.succeeded_5m, 0)::bigint,
         coalesce(r.dead_5m, 0)::bigint,
         coalesce(r.succeeded_1h, 0)::bigint,
         coalesce(r.dead_1h, 0)::bigint,
         round((coalesce(r.succeeded_5m, 0) + coalesce(r.dead_5m, 0)) / 5.0, 2),
         round((coalesce(r.succeeded_1h, 0) + coalesce(r.dead_1h, 0)) / 60.0, 2),
         d.last_dead_at,
         coalesce(l.pending_capped, false)
    from names n
    left join live l on l.queue = n.queue
    left join processing p on p.queue = n.queue
    left join dead d on d.queue = n.queue
    left join recent r on r.queue = n.queue
   order by n.queue
$$;
comment on function symphony.queue_stats_bounded(integer) is
  'Per queue: pending (due now), scheduled (delayed or backing off), retrying (pending after a failure), each among at most cap + 1 pending rows (pending_capped: there were more; a null cap reads them all), processing, dead, the age of the oldest due message, and finished messages since the start of the minute 5 minutes and an hour ago (per_minute_* = succeeded + dead per minute, over 5 and 60). Finished counts come from symphony.message_minutes up to the rollup''s watermark and from symphony.messages after it. The one definition behind symphony.queue_stats and the dashboard''s overview.';

create or replace view symphony.queue_stats with (security_invoker = true) as
select queue, pending, scheduled, retrying, processing, dead, oldest_pending_seconds,
       succeeded_5m, dead_5m, succeeded_1h, dead_1h, per_minute_5m, per_minute_1h, last_dead_at
  from symphony.queue_stats_bounded(null);
comment on view symphony.queue_stats is
  'Per queue: pending (due now), scheduled (delayed or backing off), retrying (pending after a failure), processing, dead, the age of the oldest due message, and finished messages since the start of the minute 5 minutes and an hour ago (per_minute_* = succeeded + dead per minute, over 5 and 60). Every pending row is counted. It is symphony.queue_stats_bounded(null): finished counts come from symphony.message_minutes up to the rollup''s watermark and from symphony.messages after it.';

-- The view runs as the role reading it (security_invoker), so the roles that read
-- it may run what it calls, and no one else.
revoke all on function symphony.queue_stats_bounded(integer) from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function symphony.queue_stats_bounded(integer), symphony.queue_depth_bounded(integer)
      to service_role;
  end if;
end $$;
