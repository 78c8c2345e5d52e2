-- Finished messages per minute and queue since $1 (symphony.message_minutes).
select minute, queue, succeeded, dead, cancelled, retried, failed_attempts, latency
  from symphony.message_minutes
 where minute >= $1
 order by minute, queue
