-- Count another call of unfinished batch $1, right before it is made. No row:
-- the batch was finished or abandoned meanwhile, and must not be repeated.
update symphony.provider_batches
   set attempts = attempts + 1,
       called_at = clock_timestamp()
 where id = $1
   and outcome is null
returning attempts
