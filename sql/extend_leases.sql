-- Extend the leases of messages worker $2 still works on ($1) by $3 ms.
-- locked_by = $2 implies processing (a table constraint); see complete.sql for
-- why the state is not named.
--
-- A row locked by another statement right now is skipped, not waited for: it
-- is this worker's own completion writing it (or a rescue of a lease already
-- lost), and the next extension, a third of a lease later, takes it if it is
-- still held. Waiting made the two statements deadlock when they met over
-- many rows in different orders (1,903 leases against a 500-row completion),
-- and a failed extension let every lease of the sidecar expire.
with held as (
  select id
    from symphony.messages
   where id = any($1::bigint[])
     and locked_by = $2
     for update skip locked
)
update symphony.messages m
   set locked_until = now() + $3::bigint * interval '1 millisecond'
  from held
 where m.id = held.id
