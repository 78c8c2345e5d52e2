-- purge_finished() and symphony.provider_batches: a batch record goes with its
-- messages, and stays while any member may still be sent.
begin;
create extension if not exists pgtap;
select plan(4);

insert into symphony.messages (kind, payload)
select 'email.send', jsonb_build_object('to', 'u' || g || '@example.com', 'from', 'me@example.com', 'subject', 'hi', 'text', 'x')
  from generate_series(1, 3) g;
create temp table m as select id, row_number() over (order by id) as n from symphony.messages order by id desc limit 3;
-- 1 and 2 finished long ago; 3 still pending (a retry waiting to repeat its batch).
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now() - interval '30 days'
 where id in (select id from m where n in (1, 2));

insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids, created_at)
values ('resend', 'email', 'purge-test-old-done', array[(select id from m where n = 1), (select id from m where n = 2)], now() - interval '30 days'),
       ('resend', 'email', 'purge-test-old-pending', array[(select id from m where n = 2), (select id from m where n = 3)], now() - interval '30 days'),
       ('resend', 'email', 'purge-test-recent', array[(select id from m where n = 1)], now());

select cmp_ok(symphony.purge_finished(), '>=', 2::bigint, 'purge_finished() deletes the old finished messages');
select is_empty($$select 1 from symphony.provider_batches where idempotency_key = 'purge-test-old-done'$$,
  'an old batch whose members are all gone or finished is deleted');
select set_eq($$select idempotency_key from symphony.provider_batches where idempotency_key like 'purge-test-%'$$,
  array['purge-test-old-pending', 'purge-test-recent'],
  'an old batch with a member still pending stays, and so does a recent one');
select is(symphony.purge_finished(), 0::bigint, 'a second purge deletes nothing');

select * from finish();
rollback;
