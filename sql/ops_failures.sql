-- Recent failures (the symphony.recent_failures view), newest first. Filters are
-- optional: $1 queue, $2 kind, $3 failed within this many ms, $4 at most this many
-- rows, $5 dead only (the failure queue) instead of retry-waiting ones too.
select id, queue, kind, state, attempts, max_attempts, failed_at, reason, code,
       coalesce(maybe_sent, false) as maybe_sent, retry_at, recipient, created_at
  from symphony.recent_failures
 where ($1::text is null or queue = $1)
   and ($2::text is null or kind = $2)
   and ($3::bigint is null or failed_at > now() - $3 * interval '1 millisecond')
   and (not $5::boolean or state = 'dead')
 order by failed_at desc, id desc
 limit $4
