-- The rate-limit bucket of each queue whose bucket has a limit; every other
-- queue claims without touching a bucket.
select q.name, q.rate_limit
  from symphony.queues q
  join symphony.rate_limits r on r.name = q.rate_limit
 where r.per_second is not null
