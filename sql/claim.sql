-- Claim up to $2 due messages of queue $1 for worker $3 under a lease of $4 ms.
-- Only the pending partial index is scanned; SKIP LOCKED lets any number of
-- sidecars claim side by side; nothing is claimed while the master flag is off.
-- The claim itself (what it writes, what it returns) follows from
-- claimed.sql, shared with claim_ids.sql.
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
