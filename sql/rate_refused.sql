-- The provider behind bucket $1 answered 429 while this sidecar sent $2 per
-- second: lower the learned rate and pause the bucket for $3 ms.
select symphony.rate_refused($1, $2::numeric, $3::bigint * interval '1 millisecond')
