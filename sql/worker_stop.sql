-- Record that worker $1 stopped cleanly; it listens for nothing any more.
with gone as (
  delete from symphony.listeners where worker_id = $1
)
update symphony.workers set stopped_at = now(), heartbeat_at = now() where id = $1
