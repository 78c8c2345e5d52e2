-- The provider behind bucket $1 refused one request with 429 between
-- accepted ones (a 429 alone, not read as its limit by this sidecar):
-- remember it for the rate search. True when the bucket reads it as the
-- limit after all (no rate refused since the first guess).
select symphony.rate_stray($1)
