-- Claim, for worker $3 under a lease of $4 ms, the messages $2 of queue $1
-- that are pending and due within a minute: the other members of an
-- unfinished batch, so its retry repeats the same request. They were put back
-- together, with one retry time, but not always in one statement: one due a
-- moment later is taken now rather than the batch abandoned. A member another
-- sidecar holds (or held back for longer: a paused campaign) is skipped.
-- The claim itself is claimed.sql, as claim.sql's is.
with next as (
  select ctid
    from symphony.messages
   where id = any($2::bigint[])
     and state = 'pending'
     and queue = $1
     and available_at <= now() + interval '1 minute'
     and exists (select 1 from symphony.flags where name = 'symphony' and enabled)
   order by id
   for update skip locked
)
-- claimed.sql here
