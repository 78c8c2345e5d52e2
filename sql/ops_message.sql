-- One message in full, for `symphony failed show`.
select id, kind, queue, state, priority, attempts, max_attempts, payload, subject, meta,
       last_error, errors, result, locked_by, locked_until, cancelled_by, dedupe_key,
       created_at, available_at, attempted_at, finished_at
  from symphony.messages
 where id = $1
