-- Audit rows made through the Data API name the JWT's role and subject, not the
-- authenticator login every PostgREST request shares; every view runs as its caller.
begin;
create extension if not exists pgtap;
select plan(7);

-- As PostgREST does it: switch to the token's role and publish its claims. (PostgREST logs
-- in as authenticator; sidecar/internal/supabasecheck does too. Here the session user is
-- whoever runs the tests, which must not be what is recorded either.)
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role", "iss": "supabase", "iat": 1700000000}', true);
update symphony.flags set enabled = true where name = 'sms_drip';
select is((select changed_by from symphony.flag_changes where flag = 'sms_drip' order by id desc limit 1), 'service_role',
  'a flag change made with the service-role key is audited as service_role, not the login');

select set_config('request.jwt.claims', '{"role": "service_role", "sub": "ci-deployer"}', true);
select ok(symphony.cancel(symphony.send_sms('+14155550100', 'x')), 'service_role cancels a message');
select is((select actor from symphony.message_actions order by id desc limit 1), 'service_role:ci-deployer',
  'a token with a subject is audited as role:subject');

select set_config('symphony.actor', 'ops@acme.test', true);
update symphony.flags set enabled = false where name = 'sms_drip';
select is((select changed_by from symphony.flag_changes where flag = 'sms_drip' order by id desc limit 1), 'ops@acme.test',
  'an explicit symphony.actor still comes first');
reset role;

select set_config('symphony.actor', '', true);
select set_config('request.jwt.claims',
  '{"role": "authenticated", "sub": "7c1f0d6e-2d2a-4d38-9b7e-0d8f1a2b3c4d", "email": "ada@example.com"}', true);
select is(symphony.actor(), 'authenticated:7c1f0d6e-2d2a-4d38-9b7e-0d8f1a2b3c4d (ada@example.com)',
  'a user''s token is audited with role, subject and email');
select set_config('request.jwt.claims', '', true);
select is(symphony.actor(), session_user::text, 'without a token or symphony.actor, the session user');

select is_empty($$
  select c.oid::regclass from pg_class c
   where c.relnamespace = 'symphony'::regnamespace and c.relkind = 'v'
     and not coalesce('security_invoker=true' = any(c.reloptions), false)
$$, 'every view in symphony is security_invoker, migration_compare included');

select * from finish();
rollback;
