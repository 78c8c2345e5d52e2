-- Recent failures (what the symphony.recent_failures view lists), newest first.
-- Filters are optional: $1 queue, $2 kind, $3 failed within this many ms, $4 at
-- most this many rows, $5 dead only (the failure queue) instead of retry-waiting
-- ones too.
--
-- Read in two bounded parts rather than through the view, whose order (a
-- coalesce) made it read every dead message and sort them: 10,000 dead rows on
-- as many pages cost the overview 0.1-0.3 s. A dead message failed when it
-- finished, so each queue's newest $4 come from messages_dead_idx in order; the
-- retry-waiting ones (few: messages_retrying_idx) are read whole.
with recursive q as (
  (select m.queue from symphony.messages m where m.state = 'dead' order by m.queue limit 1)
  union all
  select (select m.queue from symphony.messages m where m.state = 'dead' and m.queue > q.queue
           order by m.queue limit 1)
    from q where q.queue is not null
), candidates as (
  select d.*
    from q
   cross join lateral (
     select m.id, m.queue, m.kind, m.state, m.attempts, m.max_attempts, m.finished_at as failed_at,
            m.last_error as reason, m.errors, m.available_at, m.payload, m.created_at
       from symphony.messages m
      where m.state = 'dead' and m.queue = q.queue
        and ($3::bigint is null or m.finished_at > now() - $3 * interval '1 millisecond')
        and ($2::text is null or m.kind = $2)
      order by m.finished_at desc, m.id desc
      limit $4) d
   where q.queue is not null and ($1::text is null or q.queue = $1)
  union all
  select m.id, m.queue, m.kind, m.state, m.attempts, m.max_attempts,
         coalesce((m.errors -> -1 ->> 'at')::timestamptz, m.attempted_at, m.created_at),
         m.last_error, m.errors, m.available_at, m.payload, m.created_at
    from symphony.messages m
   where m.state = 'pending' and m.attempts > 0 and m.last_error is not null
     and not $5::boolean
     and ($1::text is null or m.queue = $1)
     and ($2::text is null or m.kind = $2)
)
select id, queue, kind, state, attempts, max_attempts, failed_at, reason, code,
       coalesce(maybe_sent, false) as maybe_sent, retry_at, recipient, created_at
  from (
    select c.id, c.queue, c.kind, c.state, c.attempts, c.max_attempts, c.failed_at, c.reason,
           c.errors -> -1 ->> 'code' as code,
           c.errors @> '[{"maybe_sent": true}]' as maybe_sent,
           case when c.state = 'pending' then c.available_at end as retry_at,
           case when jsonb_typeof(c.payload -> 'to') = 'array' then c.payload -> 'to' ->> 0
                else c.payload ->> 'to' end as recipient,
           c.created_at
      from candidates c
     where $3::bigint is null or c.failed_at > now() - $3 * interval '1 millisecond'
  ) f
 order by failed_at desc, id desc
 limit $4
