-- Per queue: pending (due now and later), processing, and the age of the oldest
-- due message: the sidecar's /status (what `symphony status` prints, and what a
-- monitor may poll). Each half reads only its partial index (pending:
-- messages_claim_idx, index only; processing: messages_lease_idx), as the
-- metrics collector's ops_queue_depth.sql does: filtering the whole table on
-- state was a full scan, 57k pages and 180 ms with 2M finished messages kept,
-- growing with the history as the claim does not.
with pending as (
  select queue,
         count(*) filter (where available_at <= now()) as due,
         count(*) filter (where available_at > now()) as scheduled,
         min(available_at) filter (where available_at <= now()) as oldest_due_at
    from symphony.messages
   where state = 'pending'
   group by queue
), processing as (
  select queue, count(*) as processing
    from symphony.messages
   where state = 'processing'
   group by queue
)
select coalesce(p.queue, r.queue) as queue,
       coalesce(p.due, 0) as due,
       coalesce(p.scheduled, 0) as scheduled,
       coalesce(r.processing, 0) as processing,
       coalesce(extract(epoch from now() - p.oldest_due_at), 0)::float8 as oldest_due_seconds
  from pending p
  full join processing r on r.queue = p.queue
 order by 1
