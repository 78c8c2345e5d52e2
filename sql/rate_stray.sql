-- The provider behind bucket $1 refused one request with 429 between
-- accepted ones (a 429 alone, not read as its limit by this sidecar):
-- the bucket counts it for the rate search, for every sidecar.
select symphony.rate_stray($1)
