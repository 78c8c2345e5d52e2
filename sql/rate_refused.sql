-- The provider behind bucket $1 answered 429 while it accepted $3 requests
-- from this sidecar ($2, its worker id) in the last second and refused $5
-- (this one included): true if the 429 was stray (one of a few from a
-- provider found to refuse at random), which changes nothing; else the
-- learned rate falls and the bucket pauses for $4 ms.
select symphony.rate_refused($1, $2, $3::numeric, $4::bigint * interval '1 millisecond', $5::numeric)
