-- The batches without an outcome, and the abandoned ones, that any of
-- messages $1 belongs to, oldest first: a retry of a member repeats its
-- unfinished batch, and is flagged as a possible duplicate when an abandoned
-- one may have been accepted.
select id, provider, idempotency_key, message_ids, attempts, called_at is not null as called,
       outcome is not null as abandoned
  from symphony.provider_batches
 where message_ids && $1::bigint[]
   and (outcome is null or outcome = 'abandoned')
 order by id
