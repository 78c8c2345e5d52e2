-- Record that the provider behind bucket $1 states a rate of $2 requests per
-- second ($3 says where it said so); true when anything changed.
select symphony.learn_rate_limit($1, $2::numeric, $3)
