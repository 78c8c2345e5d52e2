-- This database's installation id, part of every provider idempotency key.
select id::text from symphony.installation
