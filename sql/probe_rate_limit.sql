-- Raise bucket $1's learned rate if it holds its queue back and has not been
-- refused lately ($3: what the provider accepted from this sidecar, worker
-- $2, in the last second); the rate in force afterwards.
select symphony.probe_rate_limit($1, $2, $3::numeric)::float8
