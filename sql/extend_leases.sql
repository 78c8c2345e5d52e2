-- Extend the leases of messages worker $2 still works on ($1) by $3 ms.
-- locked_by = $2 implies processing (a table constraint); see complete.sql for
-- why the state is not named.
update symphony.messages
   set locked_until = now() + $3::bigint * interval '1 millisecond'
 where id = any($1::bigint[])
   and locked_by = $2
