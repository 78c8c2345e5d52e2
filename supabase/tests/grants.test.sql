-- Access control of schema symphony.
--
-- anon and authenticated get nothing at all; service_role dispatches, reads and manages
-- through the checked functions but cannot rewrite the queue or the audit trail; PUBLIC
-- executes nothing; every function pins search_path. The catalog checks iterate over
-- pg_class and pg_proc, so an object added by a later migration is covered without
-- touching this file.
begin;
create extension if not exists pgtap;
select plan(49);

-- The roles a Supabase project has (scripts/db.sh creates them on plain Postgres).
select has_role('anon');
select has_role('authenticated');
select has_role('service_role');

-- Guard against vacuous passes: the loops below must see the schema's objects.
select cmp_ok((select count(*)::int from pg_class where relnamespace = 'symphony'::regnamespace and relkind in ('r', 'p')),
  '>=', 5, 'the catalog loops see the schema''s tables');
select cmp_ok((select count(*)::int from pg_class where relnamespace = 'symphony'::regnamespace and relkind = 'S'),
  '>=', 2, 'the catalog loops see the schema''s sequences');
select cmp_ok((select count(*)::int from pg_proc where pronamespace = 'symphony'::regnamespace),
  '>=', 20, 'the catalog loops see the schema''s functions');

-- ---------------------------------------------------------------------------
-- anon and authenticated: no privilege of any kind on anything in the schema.
-- ---------------------------------------------------------------------------
select is_empty($$
  select r from unnest(array['anon', 'authenticated']) r
   where has_schema_privilege(r, 'symphony', 'USAGE') or has_schema_privilege(r, 'symphony', 'CREATE')
$$, 'anon and authenticated have neither USAGE nor CREATE on schema symphony');

select is_empty($$
  select r, c.oid::regclass
    from unnest(array['anon', 'authenticated']) r,
         pg_class c
   where c.relnamespace = 'symphony'::regnamespace
     and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and (has_table_privilege(r, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
          or has_any_column_privilege(r, c.oid, 'SELECT,INSERT,UPDATE,REFERENCES'))
$$, 'anon and authenticated have no table or column privilege on any table or view in symphony');

select is_empty($$
  select r, c.oid::regclass
    from unnest(array['anon', 'authenticated']) r,
         pg_class c
   where c.relnamespace = 'symphony'::regnamespace
     and c.relkind = 'S'
     and has_sequence_privilege(r, c.oid, 'USAGE,SELECT,UPDATE')
$$, 'anon and authenticated have no privilege on any sequence in symphony');

select is_empty($$
  select r, p.oid::regprocedure
    from unnest(array['anon', 'authenticated']) r,
         pg_proc p
   where p.pronamespace = 'symphony'::regnamespace
     and has_function_privilege(r, p.oid, 'EXECUTE')
$$, 'anon and authenticated can execute no function in symphony');

-- Also through membership: no role that anon or authenticated can become may use the schema
-- (the grant to service_role must not leak down through role membership).
select is_empty($$
  select r, m.roleid::regrole
    from unnest(array['anon', 'authenticated']) r
    join pg_auth_members m on m.member = r::regrole
   where has_schema_privilege(m.roleid, 'symphony', 'USAGE')
$$, 'anon and authenticated are not members of any role that may use schema symphony');

-- ---------------------------------------------------------------------------
-- PUBLIC: nothing. A null ACL means the default, which for functions is EXECUTE to PUBLIC.
-- ---------------------------------------------------------------------------
select is_empty($$
  select p.oid::regprocedure
    from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
   where p.pronamespace = 'symphony'::regnamespace
     and a.grantee = 0 and a.privilege_type = 'EXECUTE'
$$, 'PUBLIC has EXECUTE on no function in symphony');

select is_empty($$
  select c.oid::regclass, a.privilege_type
    from pg_class c, aclexplode(coalesce(c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner))) a
   where c.relnamespace = 'symphony'::regnamespace
     and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
     and a.grantee = 0
$$, 'PUBLIC has no privilege on any table, view or sequence in symphony');

select is_empty($$
  select a.privilege_type
    from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) a
   where n.nspname = 'symphony' and a.grantee = 0
$$, 'PUBLIC has no privilege on schema symphony');

-- ---------------------------------------------------------------------------
-- search_path: every function pins it, SECURITY DEFINER ones above all.
-- ---------------------------------------------------------------------------
select is_empty($$
  select p.oid::regprocedure
    from pg_proc p
   where p.pronamespace = 'symphony'::regnamespace
     and p.prosecdef
     and not exists (select 1 from unnest(p.proconfig) c where c like 'search\_path=%')
$$, 'every SECURITY DEFINER function in symphony pins search_path');

select is_empty($$
  select p.oid::regprocedure
    from pg_proc p
   where p.pronamespace = 'symphony'::regnamespace
     and not exists (select 1 from unnest(p.proconfig) c where c like 'search\_path=%')
$$, 'every function in symphony pins search_path');

-- ---------------------------------------------------------------------------
-- service_role: catalog view of what it may and may not do.
-- ---------------------------------------------------------------------------
select ok(has_schema_privilege('service_role', 'symphony', 'USAGE'), 'service_role may use schema symphony');
select ok(not has_schema_privilege('service_role', 'symphony', 'CREATE'), 'service_role may not create objects in schema symphony');

select is_empty($$
  select c.oid::regclass
    from pg_class c
   where c.relnamespace = 'symphony'::regnamespace
     and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and not has_table_privilege('service_role', c.oid, 'SELECT')
$$, 'service_role may SELECT every table and view in symphony');

select ok(has_table_privilege('service_role', 'symphony.messages', 'INSERT'), 'service_role may INSERT into symphony.messages');
select ok(not has_table_privilege('service_role', 'symphony.messages', 'UPDATE'), 'service_role may not UPDATE symphony.messages');
select ok(not has_any_column_privilege('service_role', 'symphony.messages', 'UPDATE'), 'service_role may not UPDATE any column of symphony.messages');
select ok(not has_table_privilege('service_role', 'symphony.messages', 'DELETE'), 'service_role may not DELETE from symphony.messages');

select ok(not has_table_privilege('service_role', 'symphony.flag_changes', 'INSERT')
          and not has_table_privilege('service_role', 'symphony.flag_changes', 'UPDATE')
          and not has_table_privilege('service_role', 'symphony.flag_changes', 'DELETE')
          and not has_any_column_privilege('service_role', 'symphony.flag_changes', 'INSERT,UPDATE'),
  'service_role may not write symphony.flag_changes (the audit trail)');

select is_empty($$
  select c.oid::regclass
    from pg_class c
   where c.relnamespace = 'symphony'::regnamespace
     and c.relkind in ('r', 'p')
     and has_table_privilege('service_role', c.oid, 'TRUNCATE')
$$, 'service_role may TRUNCATE no table in symphony');

select function_privs_are('symphony', 'dispatch', array['text', 'jsonb', 'jsonb'], 'service_role', array['EXECUTE']);
select function_privs_are('symphony', 'send_email', array['text', 'text', 'text', 'text', 'text', 'jsonb'], 'service_role', array['EXECUTE']);
select function_privs_are('symphony', 'send_sms', array['text', 'text', 'text', 'jsonb'], 'service_role', array['EXECUTE']);
select function_privs_are('symphony', 'rollout', array['text', 'text'], 'service_role', array['EXECUTE']);
select function_privs_are('symphony', 'cancel', array['bigint', 'text'], 'service_role', array['EXECUTE']);
select function_privs_are('symphony', 'retry', array['bigint'], 'service_role', array['EXECUTE']);

-- The operator actions are SECURITY DEFINER on purpose: they are the only way to change state.
select is_definer('symphony', 'cancel', array['bigint', 'text'], 'cancel() is SECURITY DEFINER');
select is_definer('symphony', 'retry', array['bigint'], 'retry() is SECURITY DEFINER');

-- ---------------------------------------------------------------------------
-- Behaviour as service_role.
-- ---------------------------------------------------------------------------
set local role service_role;

select ok(
  symphony.dispatch('email.send', '{"to": "ada@example.com", "from": "ops@example.com", "subject": "Hi", "text": "Hello"}',
                    '{"meta": {"case": "grants-dispatch"}}') is not null,
  'service_role: dispatch() works and returns an id');
select ok(
  (select count(*) = 1 from symphony.messages where meta ->> 'case' = 'grants-dispatch'),
  'service_role: the dispatched message is readable');
select lives_ok(
  $$insert into symphony.messages (kind, payload, meta) values ('sms.send', '{"to": "+14155550100", "body": "hi"}', '{"case": "grants-insert"}')$$,
  'service_role: a plain INSERT dispatches');

select throws_ok(
  $$update symphony.messages set state = 'succeeded', finished_at = now() where meta ->> 'case' = 'grants-dispatch'$$,
  '42501', null, 'service_role: a direct UPDATE of symphony.messages fails with insufficient_privilege');
select throws_ok(
  $$delete from symphony.messages$$,
  '42501', null, 'service_role: DELETE from symphony.messages fails with insufficient_privilege');
select throws_ok(
  $$truncate symphony.messages$$,
  '42501', null, 'service_role: TRUNCATE symphony.messages fails with insufficient_privilege');
select throws_ok(
  $$insert into symphony.flag_changes (flag, changed_by) values ('symphony', 'forger')$$,
  '42501', null, 'service_role: writing the audit trail directly fails with insufficient_privilege');

-- cancel() goes through the definer function and records who cancelled.
set local symphony.actor = 'ops@example.com';
select ok(
  symphony.cancel((select id from symphony.messages where meta ->> 'case' = 'grants-dispatch'), 'changed my mind'),
  'service_role: cancel() cancels a pending message');
select results_eq(
  $$select state, cancelled_by, last_error, finished_at is not null
      from symphony.messages where meta ->> 'case' = 'grants-dispatch'$$,
  $$values ('cancelled'::text, 'ops@example.com'::text, 'changed my mind'::text, true)$$,
  'service_role: the cancelled message records cancelled_by, the reason and finished_at');

-- Without symphony.actor, the session user (the login role, not the definer) is recorded.
set local symphony.actor = '';
select ok(
  symphony.cancel((select id from symphony.messages where meta ->> 'case' = 'grants-insert')),
  'service_role: cancel() without symphony.actor also works');
select is(
  (select cancelled_by from symphony.messages where meta ->> 'case' = 'grants-insert'),
  session_user::text,
  'service_role: without symphony.actor, cancelled_by is the session user');

select ok(
  symphony.retry((select id from symphony.messages where meta ->> 'case' = 'grants-insert')),
  'service_role: retry() works via the definer function');
select throws_ok(
  $$select symphony.rescue_expired()$$,
  '42501', null, 'service_role: maintenance functions are not executable (rescue_expired)');

reset role;

-- ---------------------------------------------------------------------------
-- Behaviour as anon and authenticated.
-- ---------------------------------------------------------------------------
set local role anon;
select throws_ok(
  $$select * from symphony.messages$$,
  '42501', null, 'anon: SELECT from symphony.messages fails with insufficient_privilege');
select throws_ok(
  $$select symphony.dispatch('email.send', '{}')$$,
  '42501', null, 'anon: dispatch() fails with insufficient_privilege');
reset role;

set local role authenticated;
select throws_ok(
  $$insert into symphony.messages (kind, payload) values ('sms.send', '{"to": "+14155550100", "body": "hi"}')$$,
  '42501', null, 'authenticated: INSERT into symphony.messages fails with insufficient_privilege');
reset role;

select * from finish();
rollback;
