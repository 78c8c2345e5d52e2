-- Every queue's depth, failures and throughput for the dashboard's overview,
-- with the pending counts bounded: at most $1 + 1 pending rows a queue
-- (pending_capped then says the counts are "at least"). The same definition as
-- the symphony.queue_stats view, which reads every pending row.
select * from symphony.queue_stats_bounded($1::integer)
