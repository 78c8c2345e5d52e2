-- The rate-limit bucket of each queue that draws from one, and whether the
-- bucket has a rate now (the operator's, or one learned from the provider).
-- A queue whose bucket has no rate claims without touching it; one missing
-- here has no bucket to learn into either.
select q.name, q.rate_limit, coalesce(r.per_second, r.learned_per_second) is not null, r.per_second is not null
  from symphony.queues q
  join symphony.rate_limits r on r.name = q.rate_limit
