-- Retry every dead message matching the optional filters ($1 queue, $2 kind, $3
-- failed within this many ms), at most $4; returns the ids retried.
with dead as materialized (
  select id
    from symphony.messages
   where state = 'dead'
     and ($1::text is null or queue = $1)
     and ($2::text is null or kind = $2)
     and ($3::bigint is null or finished_at > now() - $3 * interval '1 millisecond')
   order by id
   limit $4
   for update skip locked
)
select id from dead where symphony.retry(id) order by id
