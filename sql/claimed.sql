-- The second half of every claim (claim.sql, claim_ids.sql), which precede
-- it with "with next as (select ctid ... for update skip locked)": the rows
-- next locked become processing under worker $3's lease of $4 ms, their
-- attempt counted, and each is returned as the sidecar reads a claimed
-- message. The update finds each locked row by its ctid (a TID scan), not by
-- a second descent of the primary key: the row lock taken in the same
-- statement keeps that version current until the update.
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
