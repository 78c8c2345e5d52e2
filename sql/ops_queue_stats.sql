-- Every queue's depth, failures and throughput: the symphony.queue_stats view's
-- columns, for the dashboard's overview, with the pending counts bounded:
-- symphony.queue_depth_bounded($1) reads at most $1 + 1 pending rows a queue
-- (pending_capped then says the counts are "at least"), where the view reads
-- every pending row (2.6 s with a backlog of 102,000).
with live as (
  select queue, pending, scheduled, retrying, pending_capped, oldest_pending_seconds
    from symphony.queue_depth_bounded($1::integer)
), processing as (
  select queue, count(*) as processing
    from symphony.messages
   where state = 'processing'
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
  -- Finished since the watermark.
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
  union select queue from processing
  union select queue from dead
  union select queue from recent
)
select n.queue,
       coalesce(l.pending, 0)::bigint as pending,
       coalesce(l.scheduled, 0)::bigint as scheduled,
       coalesce(l.retrying, 0)::bigint as retrying,
       coalesce(l.pending_capped, false) as pending_capped,
       coalesce(p.processing, 0)::bigint as processing,
       coalesce(d.dead, 0)::bigint as dead,
       coalesce(l.oldest_pending_seconds, 0)::float8 as oldest_pending_seconds,
       coalesce(r.succeeded_5m, 0)::bigint as succeeded_5m,
       coalesce(r.dead_5m, 0)::bigint as dead_5m,
       coalesce(r.succeeded_1h, 0)::bigint as succeeded_1h,
       coalesce(r.dead_1h, 0)::bigint as dead_1h,
       round((coalesce(r.succeeded_5m, 0) + coalesce(r.dead_5m, 0)) / 5.0, 2)::float8 as per_minute_5m,
       round((coalesce(r.succeeded_1h, 0) + coalesce(r.dead_1h, 0)) / 60.0, 2)::float8 as per_minute_1h,
       d.last_dead_at
  from names n
  left join live l on l.queue = n.queue
  left join processing p on p.queue = n.queue
  left join dead d on d.queue = n.queue
  left join recent r on r.queue = n.queue
 order by n.queue
