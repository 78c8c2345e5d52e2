-- Every queue's live depth: due (pending and due now), scheduled (pending
-- later), processing, dead, and the age of the oldest due message. The one
-- reading behind the sidecar's /status, its /metrics gauges (one read per
-- SYMPHONY_STATS_INTERVAL, never one per scrape) and, as the first columns of
-- the symphony.queue_stats view, the dashboard and `symphony status`. Each
-- branch matches one partial index (pending: messages_claim_idx, processing:
-- messages_lease_idx, dead), so the finished history is never read: filtering
-- the whole table on state was a full scan, 57k pages and 180 ms with 2M
-- finished messages kept.
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
