-- Raise bucket $1's learned rate if it holds its queue back and has not been
-- refused lately; the rate in force afterwards.
select symphony.probe_rate_limit($1)::float8
