-- The provider behind bucket $1 answered 429 while it accepted $3 requests
-- from this sidecar ($2, its worker id) in the last second: lower the learned
-- rate and pause the bucket for $4 ms.
select symphony.rate_refused($1, $2, $3::numeric, $4::bigint * interval '1 millisecond')
