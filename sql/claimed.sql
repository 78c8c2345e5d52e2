-- What every claim (claim.sql, claim_limited.sql, claim_ids.sql) does with
-- the rows it chose, "next" (select ctid ... for update skip locked): the rows
-- next locked become processing under worker $3's lease of $4 ms, their
-- attempt counted, and each is returned as the sidecar reads a claimed
-- message. The update finds each locked row by its ctid (a TID scan), not by
-- a second descent of the primary key: the row lock taken in the same
-- statement keeps that version current until the update. (One TID scan of
-- an array of them all was 20 % cheaper for a claim of 300, but with the
-- table's statistics behind its size, after a truncation or a sudden
-- backlog, the planner read the whole table instead, for every claim.)
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
