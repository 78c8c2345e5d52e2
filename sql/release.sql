-- Hand back messages ($1) that worker $2 claimed but never started (prefetched,
-- then the sidecar stopped): pending again and due as before, the attempt not
-- spent, no error recorded — no provider was called for them.
update symphony.messages
   set state = 'pending',
       attempts = attempts - 1,
       locked_by = null,
       locked_until = null
 where id = any($1::bigint[])
   and locked_by = $2
