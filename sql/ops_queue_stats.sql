-- Every queue's depth, failures and throughput (the symphony.queue_stats view).
select queue, pending, scheduled, retrying, processing, dead, oldest_pending_seconds,
       succeeded_5m, dead_5m, succeeded_1h, dead_1h,
       per_minute_5m::float8 as per_minute_5m, per_minute_1h::float8 as per_minute_1h, last_dead_at
  from symphony.queue_stats
