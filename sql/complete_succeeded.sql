-- complete.sql for a batch whose every outcome is a plain success (no error
-- text): the same row as complete.sql writes for it, by a statement with
-- three arrays and no CASE to evaluate per row. Each row is (id, attempt,
-- result). Completing a busy sidecar's batches this way costs PostgreSQL about
-- 2 µs less CPU per message (13-15 against 10-13 µs, measured in one backend);
-- a test checks both statements leave identical rows.
update symphony.messages m
   set state = 'succeeded',
       result = coalesce(r.result::jsonb, m.result),
       finished_at = now(),
       locked_by = null,
       locked_until = null
  from unnest($1::bigint[], $2::integer[], $3::text[]) as r(id, attempt, result)
 where m.id = r.id
   and m.attempts = r.attempt
   and m.locked_by = $4::text
returning m.id
