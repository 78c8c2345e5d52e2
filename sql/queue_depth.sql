-- Every queue's live depth: due (pending and due now), scheduled (pending
-- later), processing, dead, and the age of the oldest due message. The one
-- reading behind the sidecar's /status and its /metrics gauges (one read per
-- SYMPHONY_STATS_INTERVAL, never one per scrape). Each branch matches one
-- partial index (pending: messages_claim_idx, processing: messages_lease_idx,
-- dead), so the finished history is never read.
--
-- Pending and scheduled are counted by symphony.queue_depth_bounded($1), as the
-- dashboard's overview counts them: among at most $1 + 1 pending rows a queue,
-- pending_capped saying there were more (the counts are then "at least"); the
-- oldest wait stays exact. Counting every pending row cost 0.85 us a row, every
-- interval in every sidecar: 170-390 ms a read at a backlog of 200,000, a tenth
-- of the database's CPU during a 200k-message run.
select queue,
       sum(pending)::bigint as pending,
       sum(scheduled)::bigint as scheduled,
       sum(processing)::bigint as processing,
       sum(dead)::bigint as dead,
       coalesce(max(oldest_pending_seconds), 0)::float8 as oldest_pending_seconds,
       bool_or(pending_capped) as pending_capped
  from (
    select b.queue, b.pending, b.scheduled, 0::bigint as processing, 0::bigint as dead,
           b.oldest_pending_seconds, b.pending_capped
      from symphony.queue_depth_bounded($1) b
    union all
    select queue, 0, 0, count(*), 0, null, false from symphony.messages where state = 'processing' group by queue
    union all
    select queue, 0, 0, 0, count(*), null, false from symphony.messages where state = 'dead' group by queue
  ) s
 group by queue
 order by queue
