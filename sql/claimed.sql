-- What every claim (claim.sql, claim_ids.sql) does with the rows it chose,
-- "next" (select ctid ... for update skip locked), placed where the claim
-- says "claimed.sql here" (sql/queries.go puts it there): the rows
-- next locked become processing under worker $3's lease of $4 ms, their
-- attempt counted, and each is returned as the sidecar reads a claimed
-- message. The update finds each locked row by its ctid (one TID scan of
-- them all), not by a second descent of the primary key: the row lock taken
-- in the same statement keeps that version current until the update. An
-- array, not a join with next: how many rows next holds is unknown to the
-- planner when a bucket's grant limits it, and joined, it guessed a tenth
-- of the table and hashed the whole of it (150 ms for a claim of 300).
update symphony.messages m
   set state = 'processing',
       attempts = m.attempts + 1,
       locked_by = $3,
       locked_until = now() + $4::bigint * interval '1 millisecond',
       attempted_at = now()
 where m.ctid = any (array(select ctid from next))
returning m.id, m.kind, m.queue, m.payload, m.attempts, m.max_attempts, m.priority,
          m.subject, m.meta, m.created_at,
          m.errors @> '[{"maybe_sent": true}]' as maybe_sent_before
