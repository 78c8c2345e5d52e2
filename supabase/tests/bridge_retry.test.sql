-- symphony.retry never sends a bridged message that belongs to the legacy system
-- again: after a rollback handed it back, legacy sends it, so Symphony must not.
begin;
create extension if not exists pgtap;
select plan(7);

create table public.bridge_retry_queue (
  id bigserial primary key, user_id text not null, recipient text not null,
  status text not null default 'pending');
select symphony.install_bridge('br', 'public.bridge_retry_queue', 'email_queue', 'email.send',
  '{"to": "recipient", "subject": {"const": "hello"}, "text": {"const": "hi"}, "from": {"const": "noreply@acme.test"}}',
  '{"subject_column": "user_id", "status_column": "status"}');
update symphony.flags set enabled = true where name = 'symphony';
update symphony.flags set enabled = true, rollout_percent = 100 where name = 'email_queue';
insert into public.bridge_retry_queue (user_id, recipient) values ('back', 'a@example.com'), ('kept', 'b@example.com');

-- 'kept' dies in Symphony before the rollback; 'back' is never started.
create temp table m as
select (select id from symphony.messages where meta ->> 'source_id' = (select id::text from public.bridge_retry_queue where user_id = 'back')) as back,
       (select id from symphony.messages where meta ->> 'source_id' = (select id::text from public.bridge_retry_queue where user_id = 'kept')) as kept;
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute'
 where id = (select kept from m);
update symphony.messages set state = 'dead', finished_at = now(), locked_by = null, locked_until = null, last_error = 'boom'
 where id = (select kept from m);

update symphony.flags set enabled = false where name = 'email_queue';
select is((select handled_by from public.bridge_retry_queue where user_id = 'back'), 'legacy', 'the rollback handed the unstarted row back');

select throws_like($$select symphony.retry((select back from m))$$,
  '%was handed back to the legacy system%', 'retrying a handed-back message is refused: legacy sends it');
select is((select state from symphony.messages where id = (select back from m)), 'cancelled', 'and the message stays cancelled');
select is((select owner from symphony.bridge_rows where bridge = 'br' and message_id = (select back from m)), 'legacy',
  'and the row stays legacy''s');

-- The bridge gone (its rows with it), the rollback's mark still tells.
select ok(symphony.retry((select kept from m)), 'a bridged message Symphony still owns can be retried');
delete from symphony.bridge_rows where bridge = 'br' and message_id = (select back from m);
select throws_like($$select symphony.retry((select back from m))$$,
  '%was handed back to the legacy system%', 'a message cancelled by a rollback is refused without its bridge row too');

-- A message whose bridge row now names a newer message is not that row's either.
update symphony.messages set state = 'cancelled', cancelled_by = 'ops', finished_at = now() where id = (select kept from m);
update symphony.bridge_rows set message_id = -1 where bridge = 'br' and message_id = (select kept from m);
select throws_like($$select symphony.retry((select kept from m))$$,
  '%is no longer the message of bridge br%', 'a message its bridge row no longer names is refused');

select * from finish();
rollback;
