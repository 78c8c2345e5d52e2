-- The rows a claim takes (claim.sql, claim_limited.sql): up to $2 due
-- messages of queue $1, highest priority first, then the longest due. Only
-- the pending partial index is scanned; SKIP LOCKED lets any number of
-- sidecars claim side by side; nothing is claimed while the master flag is off.
select ctid
  from symphony.messages
 where state = 'pending'
   and queue = $1
   and available_at <= now()
   and exists (select 1 from symphony.flags where name = 'symphony' and enabled)
 order by priority desc, available_at, id
 limit $2
 for update skip locked
