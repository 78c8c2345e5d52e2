-- Record that worker $1 stopped cleanly.
update symphony.workers set stopped_at = now(), heartbeat_at = now() where id = $1
