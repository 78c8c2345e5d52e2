-- A 429 of the provider behind bucket $1 came over the account's concurrency
-- limit, with $2 requests in flight by the provider's count (itself
-- included): record the limit for every sidecar, and return it.
select symphony.rate_concurrency($1, $2)
