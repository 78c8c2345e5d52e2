-- The unfinished batches (no outcome yet) that any of messages $1 belongs to,
-- oldest first: a retry of such a member repeats its batch.
select id, provider, idempotency_key, message_ids, attempts, called_at is not null as called
  from symphony.provider_batches
 where message_ids && $1::bigint[]
   and outcome is null
 order by id
