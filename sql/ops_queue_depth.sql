-- The metrics collector's periodic read: per queue, due, scheduled and
-- processing messages, dead ones, and the age of the oldest due message. Each
-- branch matches one partial index (pending, processing, dead), so the finished
-- history is never read and running this every few seconds from every sidecar
-- stays cheap however long the history grows.
select queue,
       sum(pending)::bigint as pending,
       sum(scheduled)::bigint as scheduled,
       sum(processing)::bigint as processing,
       sum(dead)::bigint as dead,
       coalesce(extract(epoch from now() - min(oldest_due)), 0)::float8 as oldest_pending_seconds
  from (
    select queue,
           count(*) filter (where available_at <= now()) as pending,
           count(*) filter (where available_at > now()) as scheduled,
           0 as processing, 0 as dead,
           min(available_at) filter (where available_at <= now()) as oldest_due
      from symphony.messages where state = 'pending' group by queue
    union all
    select queue, 0, 0, count(*), 0, null from symphony.messages where state = 'processing' group by queue
    union all
    select queue, 0, 0, 0, count(*), null from symphony.messages where state = 'dead' group by queue
  ) s
 group by queue
 order by queue
