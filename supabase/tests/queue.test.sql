-- Queue behaviour at the schema level: wake-up trigger and claim index shape, lease rescue,
-- operator actions (cancel, retry), state constraints and retention.
--
-- States are set up with direct UPDATEs as the table owner, standing in for the sidecar.
begin;
create extension if not exists pgtap;
select plan(47);

-- ---------------------------------------------------------------------------
-- Triggers and indexes.
-- ---------------------------------------------------------------------------
-- pg_trigger.tgtype bits: 1 ROW, 2 BEFORE, 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE, 64 INSTEAD.
select results_eq(
  $$select tgname::text collate "default", tgtype & 1 = 0, tgtype & (2 | 64) = 0, tgtype & 4 = 4, tgfoid::regproc::text
      from pg_trigger
     where tgrelid = 'symphony.messages'::regclass and not tgisinternal
       and tgfoid = 'symphony.messages_notify'::regproc$$,
  $$values ('messages_notify'::text, true, true, true, 'symphony.messages_notify'::text)$$,
  'messages_notify is one statement-level AFTER INSERT trigger (one NOTIFY per statement, not per row)');
select is_empty(
  $$select tgname from pg_trigger t join pg_proc p on p.oid = t.tgfoid
     where t.tgrelid = 'symphony.messages'::regclass and not t.tgisinternal
       and t.tgtype & 1 = 1 and p.prosrc ilike '%pg_notify%'$$,
  'no row-level trigger on symphony.messages sends NOTIFY');
select results_eq(
  $$select tgtype & 1 = 1, tgtype & 2 = 2, tgtype & 4 = 4
      from pg_trigger where tgrelid = 'symphony.messages'::regclass and tgname = 'messages_before_insert'$$,
  $$values (true, true, true)$$,
  'messages_before_insert is a row-level BEFORE INSERT trigger (each row gets its own error)');

select is(
  (select indexdef from pg_indexes where schemaname = 'symphony' and indexname = 'messages_claim_idx'),
  'CREATE INDEX messages_claim_idx ON symphony.messages USING btree (queue, priority DESC, available_at, id) WHERE (state = ''pending''::text)',
  'the claim index is (queue, priority desc, available_at, id), partial on state = pending');
select matches(
  (select indexdef from pg_indexes where schemaname = 'symphony' and indexname = 'messages_lease_idx'),
  'WHERE \(state = ''processing''::text\)$',
  'the lease index is partial on state = processing');
select ok(
  (select indisunique from pg_index where indexrelid = 'symphony.messages_dedupe_key_idx'::regclass),
  'dedupe_key is unique');

-- ---------------------------------------------------------------------------
-- Fixtures: one message per case, named through meta.case.
-- ---------------------------------------------------------------------------
insert into symphony.messages (kind, payload, meta)
select 'sms.send', '{"to": "+14155550100", "body": "hi"}', jsonb_build_object('case', 'queue-test:' || c)
  from unnest(array[
    'expired', 'expired_last', 'leased', 'pending', 'processing', 'succeeded', 'dead', 'cancelled',
    'old_succeeded', 'old_dead', 'old_cancelled', 'recent_succeeded', 'old_pending']) c;

create function pg_temp.id_of(c text) returns bigint language sql stable as $$
  select id from symphony.messages where meta ->> 'case' = 'queue-test:' || c
$$;

-- case_of names a fixture row by its case, or null for anything else.
create function pg_temp.case_of(m symphony.messages) returns text language sql immutable as $$
  select substring(m.meta ->> 'case' from '^queue-test:(.*)$')
$$;

update symphony.messages set state = 'processing', attempts = 2, locked_by = 'worker-a',
       locked_until = now() - interval '1 minute', attempted_at = now() - interval '6 minutes'
 where pg_temp.case_of(messages) = 'expired';
update symphony.messages set state = 'processing', attempts = max_attempts, locked_by = 'worker-a',
       locked_until = now() - interval '1 minute', attempted_at = now() - interval '6 minutes'
 where pg_temp.case_of(messages) = 'expired_last';
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'worker-b',
       locked_until = now() + interval '5 minutes', attempted_at = now()
 where pg_temp.case_of(messages) in ('leased', 'processing');
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now(), result = '{"id": "SM1"}'
 where pg_temp.case_of(messages) = 'succeeded';
update symphony.messages set state = 'dead', attempts = 5, finished_at = now(), last_error = 'provider said no',
       errors = '[{"attempt": 5, "code": "rejected", "error": "provider said no"}]'
 where pg_temp.case_of(messages) = 'dead';
update symphony.messages set state = 'cancelled', cancelled_by = 'someone', finished_at = now()
 where pg_temp.case_of(messages) = 'cancelled';
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() - interval '30 days'
 where pg_temp.case_of(messages) = 'old_succeeded';
update symphony.messages set state = 'dead', attempts = 5, finished_at = now() - interval '30 days', last_error = 'x'
 where pg_temp.case_of(messages) = 'old_dead';
update symphony.messages set state = 'cancelled', cancelled_by = 'someone', finished_at = now() - interval '15 days'
 where pg_temp.case_of(messages) = 'old_cancelled';
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() - interval '1 day'
 where pg_temp.case_of(messages) = 'recent_succeeded';
update symphony.messages set created_at = now() - interval '60 days', available_at = now() - interval '60 days'
 where pg_temp.case_of(messages) = 'old_pending';

-- ---------------------------------------------------------------------------
-- rescue_expired()
-- ---------------------------------------------------------------------------
select cmp_ok(symphony.rescue_expired(), '>=', 2, 'rescue_expired() reports the rescued messages');

select results_eq(
  $$select state, attempts, locked_by, locked_until, finished_at, available_at, last_error is not null
      from symphony.messages where id = pg_temp.id_of('expired')$$,
  $$values ('pending'::text, 2, null::text, null::timestamptz, null::timestamptz, now(), true)$$,
  'an expired lease with attempts left goes back to pending, available now, lease cleared, attempts kept');
select results_eq(
  $$select e ->> 'code', (e ->> 'attempt')::int, e ->> 'worker', e ->> 'error' ilike '%provider may have been called%'
      from symphony.messages, jsonb_array_elements(errors) e where id = pg_temp.id_of('expired')$$,
  $$values ('lease_expired'::text, 2, 'worker-a'::text, true)$$,
  'the rescued message gets one errors entry: code lease_expired, the attempt, the worker, and that the provider may have been called');
select results_eq(
  $$select state, finished_at is not null, last_error ilike '%lease%expired%', errors -> -1 ->> 'code', locked_by
      from symphony.messages where id = pg_temp.id_of('expired_last')$$,
  $$values ('dead'::text, true, true, 'lease_expired'::text, null::text)$$,
  'an expired lease on the last attempt (attempts = max_attempts) goes to dead, with the reason');
select results_eq(
  $$select state, locked_by, errors from symphony.messages where id = pg_temp.id_of('leased')$$,
  $$values ('processing'::text, 'worker-b'::text, '[]'::jsonb)$$,
  'a live lease is left alone');
select lives_ok('select symphony.rescue_expired()', 'rescue_expired() runs again');
select is((select jsonb_array_length(errors) from symphony.messages where id = pg_temp.id_of('expired')), 1,
  'a second rescue_expired() leaves a rescued message alone (no second errors entry)');

-- ---------------------------------------------------------------------------
-- cancel(): pending only.
-- ---------------------------------------------------------------------------
set local symphony.actor = 'ops@example.com';
select ok(symphony.cancel(pg_temp.id_of('pending'), 'duplicate'), 'cancel() cancels a pending message');
select results_eq(
  $$select state, cancelled_by, last_error, finished_at from symphony.messages where id = pg_temp.id_of('pending')$$,
  $$values ('cancelled'::text, 'ops@example.com'::text, 'duplicate'::text, now())$$,
  'the cancelled message records who cancelled it, the reason and finished_at');
select ok(not symphony.cancel(pg_temp.id_of('processing')), 'cancel() does not cancel a message in flight');
select is((select state from symphony.messages where id = pg_temp.id_of('processing')), 'processing', 'the message in flight is unchanged');
select ok(not symphony.cancel(pg_temp.id_of('succeeded')), 'cancel() does not cancel a succeeded message');
select ok(not symphony.cancel(pg_temp.id_of('dead')), 'cancel() does not cancel a dead message');
select ok(not symphony.cancel(pg_temp.id_of('cancelled')), 'cancel() does not cancel twice');
select is((select cancelled_by from symphony.messages where id = pg_temp.id_of('cancelled')), 'someone', 'cancelling twice keeps the first canceller');
select ok(not symphony.cancel(-1), 'cancel() of an unknown id returns false');

-- ---------------------------------------------------------------------------
-- retry(): dead (or cancelled) back to pending from the first attempt.
-- ---------------------------------------------------------------------------
select ok(symphony.retry(pg_temp.id_of('dead')), 'retry() resets a dead message');
select results_eq(
  $$select state, attempts, finished_at, available_at, jsonb_array_length(errors)
      from symphony.messages where id = pg_temp.id_of('dead')$$,
  $$values ('pending'::text, 0, null::timestamptz, now(), 1)$$,
  'a retried message is pending with attempts 0, available now, and keeps its error history');
select ok(symphony.retry(pg_temp.id_of('cancelled')), 'retry() resets a cancelled message');
select results_eq(
  $$select state, cancelled_by from symphony.messages where id = pg_temp.id_of('cancelled')$$,
  $$values ('pending'::text, null::text)$$,
  'a retried cancelled message is pending and no longer cancelled');
select ok(not symphony.retry(pg_temp.id_of('succeeded')), 'retry() does not resend a succeeded message');
select ok(not symphony.retry(pg_temp.id_of('processing')), 'retry() does not touch a message in flight');
select ok(not symphony.retry(pg_temp.id_of('leased')), 'retry() does not touch a message in flight (leased)');
select ok(not symphony.retry(pg_temp.id_of('dead')), 'retry() of a message already pending again returns false');

-- ---------------------------------------------------------------------------
-- State constraints.
-- ---------------------------------------------------------------------------
select throws_ok(
  format($$update symphony.messages set state = 'dead', finished_at = now(), last_error = null where id = %s$$, pg_temp.id_of('expired')),
  '23514', null, 'a dead message without last_error is rejected');
select throws_like(
  format($$update symphony.messages set state = 'dead', finished_at = now(), last_error = null where id = %s$$, pg_temp.id_of('expired')),
  '%messages_dead_has_reason%', 'by the constraint messages_dead_has_reason');
select throws_ok(
  format($$update symphony.messages set state = 'processing', locked_by = null, locked_until = null where id = %s$$, pg_temp.id_of('expired')),
  '23514', null, 'a processing message without a lease is rejected');
select throws_like(
  format($$update symphony.messages set state = 'processing', locked_by = 'worker-a', locked_until = null where id = %s$$, pg_temp.id_of('expired')),
  '%messages_lease_matches_state%', 'a processing message without locked_until is rejected by messages_lease_matches_state');
select throws_like(
  format($$update symphony.messages set state = 'cancelled', finished_at = now() where id = %s$$, pg_temp.id_of('expired')),
  '%messages_cancelled_has_actor%', 'a cancelled message without cancelled_by is rejected');
select throws_like(
  format($$update symphony.messages set state = 'succeeded' where id = %s$$, pg_temp.id_of('expired')),
  '%messages_finished_at_matches_state%', 'a succeeded message without finished_at is rejected');
select throws_like(
  format($$update symphony.messages set finished_at = now() where id = %s$$, pg_temp.id_of('expired')),
  '%messages_finished_at_matches_state%', 'a pending message with finished_at is rejected');
select throws_ok(
  format($$update symphony.messages set state = 'done' where id = %s$$, pg_temp.id_of('expired')),
  '23514', null, 'an unknown state is rejected');

-- ---------------------------------------------------------------------------
-- purge_finished(): old finished messages only.
-- ---------------------------------------------------------------------------
create temp table purge_expected as
  select count(*)::bigint as n from symphony.messages
   where finished_at < now() - interval '14 days' and pg_temp.case_of(messages) is not null;
select cmp_ok(symphony.purge_finished(), '>=', (select n from purge_expected), 'purge_finished() returns the number of messages it deleted');
select is_empty(
  $$select pg_temp.case_of(messages) from symphony.messages where pg_temp.case_of(messages) in ('old_succeeded', 'old_dead', 'old_cancelled')$$,
  'purge_finished() removes succeeded, dead and cancelled messages finished over 14 days ago');
select set_eq(
  $$select pg_temp.case_of(messages) from symphony.messages where pg_temp.case_of(messages) in ('recent_succeeded', 'old_pending', 'processing', 'succeeded')$$,
  array['recent_succeeded', 'old_pending', 'processing', 'succeeded'],
  'purge_finished() keeps recent finished messages and unfinished ones, however old');
select is(symphony.purge_finished(), 0::bigint, 'a second purge_finished() deletes nothing');

-- A shorter retention, in batches of one.
select cmp_ok(symphony.purge_finished(interval '12 hours', 1), '>=', 1::bigint, 'purge_finished(keep, batch) deletes in batches until done');
select is_empty(
  $$select 1 from symphony.messages where pg_temp.case_of(messages) = 'recent_succeeded'$$,
  'purge_finished with a 12-hour retention removes a message finished a day ago');
select is((select count(*)::int from symphony.messages where finished_at < now() - interval '12 hours' and pg_temp.case_of(messages) is not null), 0,
  'nothing finished more than 12 hours ago is left after batched purging');

-- A bad batch size must not spin forever: with batch 0 (or null) `exit when n < batch` is never
-- true. Either an error or a prompt return is fine; a statement timeout is not.
create function pg_temp.sqlstate_of(stmt text) returns text language plpgsql as $$
begin
  execute stmt;
  return '00000';
exception when query_canceled or others then
  return sqlstate;
end $$;
set local statement_timeout = '300ms';
select isnt(pg_temp.sqlstate_of('select symphony.purge_finished(interval ''14 days'', 0)'), '57014',
  'purge_finished with batch 0 returns or fails at once instead of looping forever');
set local statement_timeout = '300ms';
select isnt(pg_temp.sqlstate_of('select symphony.purge_finished(interval ''14 days'', null)'), '57014',
  'purge_finished with a null batch returns or fails at once instead of looping forever');
set local statement_timeout = 0;

select * from finish();
rollback;
