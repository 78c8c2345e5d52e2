-- Record a batch before its first call: provider, queue, key and the member
-- message ids in request order. Returns the batch id.
-- $1 provider, $2 queue, $3 idempotency key, $4 member ids
insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids)
values ($1, $2, $3, $4)
returning id
