-- Write a batch of attempt outcomes in one statement. Each row is
-- (id, attempt, state, result, error, code, retry_in_ms, maybe_sent); state is
-- succeeded, dead or pending (a retry after retry_in_ms); maybe_sent records
-- that a failed attempt may still have reached the provider. The guard on attempts and locked_by
-- means a worker whose lease was rescued and re-claimed cannot overwrite the
-- newer attempt. Returns the ids written.
--
-- locked_by is set exactly while a message is processing (a table constraint),
-- so there is deliberately no "state = 'processing'" here: that predicate would
-- let the planner drive the join from the partial lease index, and with stale
-- statistics (few rows processing at the last ANALYZE) it did, scanning every
-- in-flight row once per outcome. Without it the only path is the primary key.
update symphony.messages m
   set state = r.state,
       result = coalesce(r.result::jsonb, m.result),
       last_error = coalesce(r.error, m.last_error),
       errors = case when r.error is null then m.errors
                     else m.errors || jsonb_build_array(jsonb_build_object(
                            'attempt', r.attempt, 'at', now(), 'error', r.error,
                            'code', r.code, 'worker', $8::text, 'maybe_sent', r.maybe_sent))
                end,
       available_at = case when r.state = 'pending'
                           then now() + r.retry_in_ms * interval '1 millisecond'
                           else m.available_at end,
       finished_at = case when r.state in ('succeeded', 'dead') then now() end,
       locked_by = null,
       locked_until = null
  from unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $9::boolean[])
       as r(id, attempt, state, result, error, code, retry_in_ms, maybe_sent)
 where m.id = r.id
   and m.attempts = r.attempt
   and m.locked_by = $8::text
returning m.id
