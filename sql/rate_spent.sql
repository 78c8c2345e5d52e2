-- An accepted answer of the provider behind bucket $1 said its stated window
-- was spent: record it for every sidecar (another client shares the limit),
-- and return the rate in force and the stated limit's ceiling (null for a
-- bucket with an operator's rate or no stated limit).
select paced::float8, ceiling::float8 from symphony.rate_spent($1)
