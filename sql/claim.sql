-- Claim up to $2 due messages of queue $1 for worker $3 under a lease of $4 ms.
-- Only the pending partial index is scanned; SKIP LOCKED lets any number of
-- sidecars claim side by side; nothing is claimed while the master flag is off.
-- The update finds each locked row by its ctid (a TID scan), not by a second
-- descent of the primary key: the row lock taken here keeps that version current
-- until the update in the same statement.
with next as (
  select ctid
    from symphony.messages
   where state = 'pending'
     and queue = $1
     and available_at <= now()
     and exists (select 1 from symphony.flags where name = 'symphony' and enabled)
   order by priority desc, available_at, id
   limit $2
   for update skip locked
)
update symphony.messages m
   set state = 'processing',
       attempts = m.attempts + 1,
       locked_by = $3,
       locked_until = now() + $4::bigint * interval '1 millisecond',
       attempted_at = now()
  from next
 where m.ctid = next.ctid
returning m.id, m.kind, m.queue, m.payload, m.attempts, m.max_attempts, m.priority,
          m.subject, m.meta, m.created_at,
          m.errors @> '[{"maybe_sent": true}]' as maybe_sent_before
