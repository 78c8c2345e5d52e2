-- Upper bounds (ms) of the rollups' latency histogram buckets.
select symphony.latency_bounds()
