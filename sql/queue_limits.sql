-- The rate-limit bucket of each queue that draws from one, whether the
-- bucket has a rate now (the operator's, or one learned from the provider),
-- how many requests sidecar $1 may have in flight through it (its share of
-- the account's concurrency in force; 0: none), and whether that is the
-- operator's. A queue whose bucket has no rate claims without touching it;
-- one missing here has no bucket to learn into either.
select q.name, q.rate_limit, coalesce(r.per_second, r.learned_per_second) is not null, r.per_second is not null,
       symphony._concurrency_share(r.name, $1), r.concurrency is not null
  from symphony.queues q
  join symphony.rate_limits r on r.name = q.rate_limit
