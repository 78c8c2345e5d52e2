-- Sidecars and their heartbeats (the symphony.worker_status view).
select id, hostname, version, queues, status, heartbeat_age_seconds, processing,
       started_at, heartbeat_at, stopped_at
  from symphony.worker_status
