-- Only Symphony changes a bridged row's owner column. The table is an app's table in
-- public with Supabase's default privileges (anon and authenticated may write it) and
-- RLS off: the worst case the guard must hold in.
begin;
create extension if not exists pgtap;
select plan(13);

create table public.guard_queue (
  id bigserial primary key, user_id text not null, recipient text not null,
  status text not null default 'pending', sent_at timestamptz);
grant all on public.guard_queue to anon, authenticated, service_role;
grant all on sequence public.guard_queue_id_seq to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;

select symphony.install_bridge('guard', 'public.guard_queue', 'email_queue', 'email.send',
  '{"to": "recipient", "from": {"const": "noreply@acme.test"}, "subject": {"const": "s"}, "text": {"const": "t"}}',
  '{"subject_column": "user_id", "status_column": "status", "sent_at_column": "sent_at"}');
select has_trigger('public', 'guard_queue', 'symphony_bridge_owner_guard', 'installing a bridge installs the owner guard');

insert into public.guard_queue (user_id, recipient) values ('before', 'a@example.com');   -- flag off: legacy's
update symphony.flags set enabled = true where name = 'symphony';
update symphony.flags set enabled = true, rollout_percent = 100 where name = 'email_queue';
insert into public.guard_queue (user_id, recipient) values ('routed', 'b@example.com');   -- Symphony's
insert into public.guard_queue (user_id, recipient, status) values ('draft', 'c@example.com', 'draft');  -- never routed

set local role anon;
select throws_ok($$update public.guard_queue set handled_by = 'legacy' where user_id = 'routed'$$, '42501', null,
  'anon cannot take a row from Symphony while its message is pending');
select throws_ok($$update public.guard_queue set handled_by = null where user_id = 'routed'$$, '42501', null,
  'nor clear its owner');
select throws_ok($$update public.guard_queue set handled_by = 'symphony' where user_id = 'before'$$, '42501', null,
  'nor give Symphony a row legacy owns (neither system would send it)');
select throws_ok($$update public.guard_queue set handled_by = 'symphony' where user_id = 'draft'$$, '42501', null,
  'nor mark a row the bridge never routed as Symphony''s');
select lives_ok($$update public.guard_queue set status = 'sent', sent_at = now(), handled_by = handled_by where user_id = 'before'$$,
  'the legacy code still updates its own rows, the owner column unchanged');
select lives_ok($$update public.guard_queue set handled_by = 'legacy' where user_id = 'draft'$$,
  'a row the bridge never routed is legacy''s business');
reset role;

select throws_ok($$update public.guard_queue set handled_by = 'legacy' where user_id = 'routed'$$, '42501', null,
  'the table''s owner cannot either: only Symphony moves a routed row');
select is((select handled_by from public.guard_queue where user_id = 'routed'), 'symphony', 'the row is still Symphony''s');
select is((select count(*)::int from symphony.messages where meta ->> 'bridge' = 'guard' and state = 'pending'), 1,
  'and its message is still pending');

-- Symphony's own move, the rollback, passes the guard.
update symphony.flags set enabled = false where name = 'email_queue';
select is((select handled_by from public.guard_queue where user_id = 'routed'), 'legacy',
  'turning the flag off hands the row back to legacy through the guard');
select is((select state from symphony.messages where meta ->> 'bridge' = 'guard'), 'cancelled',
  'and its message is cancelled: one system sends it');

select symphony.uninstall_bridge('guard');
select hasnt_trigger('public', 'guard_queue', 'symphony_bridge_owner_guard', 'uninstalling the bridge removes the guard');

select * from finish();
rollback;
