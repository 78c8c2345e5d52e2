-- Record a batch before its first call: provider, queue, the member message
-- ids in request order, and its idempotency key, $3 followed by the batch id.
-- The call follows at once, so the batch counts as called (attempt 1).
-- Returns the batch id and key.
-- $1 provider, $2 queue, $3 key prefix, $4 member ids
with next as (
  select nextval(pg_get_serial_sequence('symphony.provider_batches', 'id')) as id
)
insert into symphony.provider_batches (id, provider, queue, idempotency_key, message_ids, attempts, called_at)
overriding system value
select next.id, $1, $2, $3 || next.id, $4::bigint[], 1, clock_timestamp()
  from next
returning id, idempotency_key
