-- Write a batch of attempt outcomes in one statement. Each row is
-- (id, attempt, state, result, error, code, retry_in_ms, maybe_sent); state is
-- succeeded, dead, pending (a retry after retry_in_ms), cancelled (code names
-- who cancelled: cancelled_by; error says why: last_error; not a failure, so no
-- error entry) or deferred (back to pending after retry_in_ms with the attempt
-- not counted and nothing recorded: quiet hours, a step not yet due);
-- maybe_sent records that a failed attempt may still have reached the provider.
-- The guard on attempts and locked_by means a worker whose lease was rescued and
-- re-claimed cannot overwrite the newer attempt. Returns the ids written.
--
-- locked_by is set exactly while a message is processing (a table constraint),
-- so there is deliberately no "state = 'processing'" here: that predicate would
-- let the planner drive the join from the partial lease index, and with stale
-- statistics (few rows processing at the last ANALYZE) it did, scanning every
-- in-flight row once per outcome. Without it the only path is the primary key.
update symphony.messages m
   set state = case when r.state = 'deferred' then 'pending' else r.state end,
       attempts = case when r.state = 'deferred' then m.attempts - 1 else m.attempts end,
       result = coalesce(r.result::jsonb, m.result),
       last_error = case when r.state = 'deferred' then m.last_error else coalesce(r.error, m.last_error) end,
       errors = case when r.error is null or r.state in ('cancelled', 'deferred') then m.errors
                     else m.errors || jsonb_build_array(jsonb_build_object(
                            'attempt', r.attempt, 'at', now(), 'error', r.error,
                            'code', r.code, 'worker', $8::text, 'maybe_sent', r.maybe_sent))
                end,
       available_at = case when r.state in ('pending', 'deferred')
                           then now() + r.retry_in_ms * interval '1 millisecond'
                           else m.available_at end,
       finished_at = case when r.state in ('succeeded', 'dead', 'cancelled') then now() end,
       cancelled_by = case when r.state = 'cancelled' then coalesce(r.code, 'sidecar') else m.cancelled_by end,
       locked_by = null,
       locked_until = null
  from unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $9::boolean[])
       as r(id, attempt, state, result, error, code, retry_in_ms, maybe_sent)
 where m.id = r.id
   and m.attempts = r.attempt
   and m.locked_by = $8::text
returning m.id
