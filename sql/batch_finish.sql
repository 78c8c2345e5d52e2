-- Give unfinished batch $1 its outcome $2 (answered, failed or abandoned).
-- Returns whether it was still unfinished.
update symphony.provider_batches
   set outcome = $2,
       finished_at = clock_timestamp()
 where id = $1
   and outcome is null
returning true
