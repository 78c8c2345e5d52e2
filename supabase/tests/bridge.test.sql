-- The migration bridge: install checks, routing at insert, write-back, the
-- rollback hand-back, the legacy outcome, the compare view and access.
begin;
create extension if not exists pgtap;
select plan(34);

create table public.bridge_test_queue (
  id bigserial primary key, user_id text not null, recipient text not null,
  subject text not null, body text not null, status text not null default 'pending',
  sent_at timestamptz, provider_message_id text, error text);

-- Install errors name what is wrong.
select throws_like($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'nope', 'email.send', '{"to":"recipient"}')$$,
  '%unknown flag%', 'an unknown flag is refused');
select throws_like($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'email_queue', 'nope.kind', '{"to":"recipient"}')$$,
  '%unknown message kind%', 'an unknown kind is refused');
select throws_like($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'email_queue', 'email.send', '{"to":"recipeint"}')$$,
  '%column "recipeint" does not exist%', 'a payload column that does not exist is named');
select throws_like($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'email_queue', 'email.send', '{"to": 5}')$$,
  '%must map to a column name or {"const": value}%', 'a mapping that is neither a column nor a constant is refused');
select throws_like($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'email_queue', 'email.send', '{"to":"recipient"}', '{"subjet_column":"user_id"}')$$,
  '%unknown bridge option%', 'an unknown option is refused');
select throws_like($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'email_queue', 'email.send', '{"to":"recipient"}', '{"status_column":"state"}')$$,
  '%status column "state" does not exist%', 'a status column that does not exist is named');

select lives_ok($$select symphony.install_bridge('bt', 'public.bridge_test_queue', 'email_queue', 'email.send',
  '{"to": "recipient", "subject": "subject", "html": "body", "from": {"const": "noreply@acme.test"}}',
  '{"subject_column": "user_id", "status_column": "status", "sent_at_column": "sent_at",
    "provider_id_column": "provider_message_id", "error_column": "error"}')$$, 'a valid bridge installs');
select has_column('public', 'bridge_test_queue', 'handled_by', 'the owner column is added to the source table');
select has_trigger('public', 'bridge_test_queue', 'symphony_bridge_route', 'the routing trigger is installed');
select has_trigger('public', 'bridge_test_queue', 'symphony_bridge_observe', 'the legacy-outcome trigger is installed');

-- Flags off: every row is legacy's and no message exists.
insert into public.bridge_test_queue (user_id, recipient, subject, body) values ('u1', 'a@example.com', 's', 'b');
select is((select handled_by from public.bridge_test_queue where user_id = 'u1'), 'legacy', 'with the flag off a row is legacy''s');
select is((select count(*)::int from symphony.messages where meta ->> 'bridge' = 'bt'), 0, 'and no message is dispatched');

-- Master and flag on at 100%: rows become messages; drafts are not routed.
update symphony.flags set enabled = true where name = 'symphony';
update symphony.flags set enabled = true, rollout_percent = 100 where name = 'email_queue';
insert into public.bridge_test_queue (user_id, recipient, subject, body) values ('u2', 'b@example.com', 'hello', '<p>hi</p>');
select is((select handled_by from public.bridge_test_queue where user_id = 'u2'), 'symphony', 'at 100% a row is Symphony''s');
select is((select payload from symphony.messages where meta ->> 'source_id' = (select id::text from public.bridge_test_queue where user_id = 'u2')),
  '{"to": "b@example.com", "from": "noreply@acme.test", "html": "<p>hi</p>", "subject": "hello"}'::jsonb,
  'the payload is built from the mapping, constants included');
select is((select subject from symphony.messages where meta ->> 'bridge' = 'bt' order by id desc limit 1), 'u2', 'the message subject is the subject column');
insert into public.bridge_test_queue (user_id, recipient, subject, body, status) values ('u3', 'c@example.com', 's', 'b', 'draft');
select is((select handled_by from public.bridge_test_queue where user_id = 'u3'), null, 'a row not inserted as pending is not routed');
insert into public.bridge_test_queue (user_id, recipient, subject, body) values ('u4', 'not an address', 's', 'b');
select is((select handled_by from public.bridge_test_queue where user_id = 'u4'), 'legacy',
  'a row Symphony would refuse stays with legacy instead of failing the app''s insert');
select is(symphony.bridge_owner('bt', (select id::text from public.bridge_test_queue where user_id = 'u2')), 'symphony',
  'bridge_owner answers "is this row mine?"');

-- Write-back: Symphony's result lands in the source row.
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute'
 where meta ->> 'bridge' = 'bt';
update symphony.messages set state = 'succeeded', finished_at = now(), locked_by = null, locked_until = null,
       result = '{"provider": "resend", "provider_message_id": "re_123"}' where meta ->> 'bridge' = 'bt';
select results_eq($$select status, provider_message_id, sent_at is not null, error from public.bridge_test_queue where user_id = 'u2'$$,
  $$values ('sent'::text, 're_123'::text, true, null::text)$$, 'a success is written back: status, provider id, sent_at');
select is((select outcome from symphony.bridge_rows where bridge = 'bt' and subject = 'u2'), 'succeeded', 'and recorded for comparison');

insert into public.bridge_test_queue (user_id, recipient, subject, body) values ('u5', 'e@example.com', 's', 'b');
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute'
 where subject = 'u5';
update symphony.messages set state = 'dead', finished_at = now(), locked_by = null, locked_until = null,
       last_error = 'twilio code 21211: invalid' where subject = 'u5';
select results_eq($$select status, error from public.bridge_test_queue where user_id = 'u5'$$,
  $$values ('failed'::text, 'twilio code 21211: invalid'::text)$$, 'a dead message is written back as failed with the reason');

-- The legacy system's outcome is observed for its own rows only.
update public.bridge_test_queue set status = 'sent' where user_id = 'u1';
select is((select outcome from symphony.bridge_rows where bridge = 'bt' and subject = 'u1'), 'succeeded', 'a legacy send is recorded');

-- Rollback: flag off hands unstarted rows back; in-flight ones stay.
insert into public.bridge_test_queue (user_id, recipient, subject, body)
  select 'h' || g, 'h' || g || '@example.com', 's', 'b' from generate_series(1, 5) g;
update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute'
 where subject = 'h1';
update symphony.flags set enabled = false where name = 'email_queue';
select is((select count(*)::int from public.bridge_test_queue where user_id like 'h%' and handled_by = 'legacy'), 4,
  'turning the flag off hands the 4 unstarted rows to legacy');
select is((select handled_by from public.bridge_test_queue where user_id = 'h1'), 'symphony', 'the row in flight stays Symphony''s');
select is((select count(*)::int from symphony.messages where cancelled_by = 'rollback:email_queue'), 4,
  'their messages are cancelled by the rollback');
select is((select count(*)::int from public.bridge_test_queue where user_id like 'h%' and status <> 'pending'), 0,
  'a handed-back row is not written back as failed: legacy will send it');
select is((select count(*)::int from symphony.bridge_rows where handed_back_at is not null and routed_to = 'symphony' and owner = 'legacy'), 4,
  'bridge_rows keeps the original decision and the new owner');
insert into public.bridge_test_queue (user_id, recipient, subject, body) values ('u6', 'f@example.com', 's', 'b');
select is((select handled_by from public.bridge_test_queue where user_id = 'u6'), 'legacy', 'new rows go to legacy at once');

-- Compare view.
select ok((select count(*) = 2 from symphony.migration_compare where bridge = 'bt'), 'migration_compare has a row per system');
select is((select succeeded::int from symphony.migration_compare where bridge = 'bt' and system = 'symphony'), 1,
  'and counts Symphony''s successes');

-- Uninstall refuses while Symphony still handles rows.
select throws_like($$select symphony.uninstall_bridge('bt')$$, '%still has rows Symphony is handling%',
  'uninstall waits for rows in flight');

-- Access: the app role that inserts into the source table needs no symphony rights.
select is(has_schema_privilege('service_role', 'symphony', 'usage'), true, 'service_role can read the bridge tables');
select is(has_function_privilege('anon', 'symphony.install_bridge(text, regclass, text, text, jsonb, jsonb)', 'execute'), false,
  'anon cannot install bridges');
select is(has_function_privilege('service_role', 'symphony.install_bridge(text, regclass, text, text, jsonb, jsonb)', 'execute'), false,
  'installing a bridge alters tables: owners only');

select * from finish();
rollback;
