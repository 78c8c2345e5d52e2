-- Record that worker $1 stopped cleanly. It listens for nothing any more:
-- each of its listener rows goes through symphony.unlisten, which also clears
-- symphony.listening once no sidecar listens, so dispatches stop reading the
-- listeners at once. Deleting the rows here directly left that flag set until
-- the next tick (never, where pg_cron runs in another database), and every
-- single-row dispatch then paid for the lookup: half its rate on a quiet
-- machine (bench step 5).
with unlistened as materialized (
  select symphony.unlisten(l.queue, l.worker_id) from symphony.listeners l where l.worker_id = $1
)
update symphony.workers set stopped_at = now(), heartbeat_at = now()
 where id = $1
   and (select count(*) from unlistened) >= 0  -- (runs the unlistens first)
