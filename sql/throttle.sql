-- Pause bucket $1 for $2 ms: the provider answered 429.
select symphony.throttle($1, $2::bigint * interval '1 millisecond')
