-- Access control, the parts grants.test.sql does not cover: SECURITY DEFINER functions,
-- what service_role may do and nothing beyond it (allowlists, so a new grant is a
-- deliberate edit here), views that run with their owner's rights, sequences, and the
-- schemas the Data API exposes. Every check reads the catalog, so objects added by later
-- migrations are covered without touching this file; the allowlists are the exception.
begin;
create extension if not exists pgtap;
select plan(34);

-- Guard against vacuous passes.
select cmp_ok((select count(*)::int from pg_proc where pronamespace = 'symphony'::regnamespace and prosecdef),
  '>=', 3, 'the catalog checks see the SECURITY DEFINER functions');
select cmp_ok((select count(*)::int from pg_class where relnamespace = 'symphony'::regnamespace and relkind = 'v'),
  '>=', 1, 'the catalog checks see the views');

-- ---------------------------------------------------------------------------
-- SECURITY DEFINER: it runs with the owner's rights, so it must not be steerable
-- through search_path, and only trusted roles may call it. "Checks its caller" here
-- means EXECUTE is granted to nobody broad; a definer function that anon,
-- authenticated or PUBLIC could call would have to check the caller in its body,
-- and none may exist.
-- ---------------------------------------------------------------------------
select is_empty($$
  select p.oid::regprocedure, p.proconfig
    from pg_proc p
   where p.pronamespace = 'symphony'::regnamespace and p.prosecdef
     and not coalesce('search_path=""' = any(p.proconfig), false)
$$, 'every SECURITY DEFINER function in symphony pins search_path to the empty path (objects named in full)');

select is_empty($$
  select p.oid::regprocedure, r
    from pg_proc p, unnest(array['anon', 'authenticated']) r
   where p.pronamespace = 'symphony'::regnamespace and p.prosecdef
     and has_function_privilege(r, p.oid, 'EXECUTE')
$$, 'no SECURITY DEFINER function in symphony is executable by anon or authenticated');

select is_empty($$
  select p.oid::regprocedure
    from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
   where p.pronamespace = 'symphony'::regnamespace and p.prosecdef
     and a.grantee = 0 and a.privilege_type = 'EXECUTE'
$$, 'no SECURITY DEFINER function in symphony is executable by PUBLIC');

-- A trigger function that runs as its owner must stay a trigger: whoever may EXECUTE it
-- may attach it to a table of their own (CREATE TRIGGER checks EXECUTE).
select is_empty($$
  select p.oid::regprocedure, r
    from pg_proc p, unnest(array['anon', 'authenticated', 'service_role']) r
   where p.pronamespace = 'symphony'::regnamespace and p.prosecdef
     and p.prorettype = 'trigger'::regtype
     and has_function_privilege(r, p.oid, 'EXECUTE')
$$, 'no role but the owner may execute a SECURITY DEFINER trigger function');

select set_eq($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace = 'symphony'::regnamespace and p.prosecdef
     and has_function_privilege('service_role', p.oid, 'EXECUTE')
$$, $$ values ('symphony.cancel(bigint,text)'), ('symphony.retry(bigint)'), ('symphony.remove_dead(bigint)'),
  -- campaigns and drips: they change messages' states
  ('symphony.start_campaign(bigint,timestamp with time zone)'), ('symphony.pause_campaign(bigint)'),
  ('symphony.resume_campaign(bigint)'), ('symphony.cancel_campaign(bigint,text)'),
  ('symphony.unenroll(bigint,text)'), ('symphony.unenroll(text,text,text)') $$,
  'the SECURITY DEFINER functions service_role may call are exactly the operator actions: cancel, retry, remove_dead, and those of campaigns and drips');

-- ---------------------------------------------------------------------------
-- service_role: what DESIGN says (dispatch, read, manage) and no more.
-- ---------------------------------------------------------------------------
select set_eq($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace = 'symphony'::regnamespace
     and has_function_privilege('service_role', p.oid, 'EXECUTE')
$$, $$ values
  ('symphony.dispatch(text,jsonb,jsonb)'), ('symphony.send_email(text,text,text,text,text,jsonb)'),
  ('symphony.send_sms(text,text,text,jsonb)'), ('symphony.register_kind(text,text,integer,text,jsonb,text)'),
  ('symphony.rollout(text,text)'), ('symphony.bucket(text,text)'), ('symphony.bridge_owner(text,text)'),
  ('symphony.cancel(bigint,text)'), ('symphony.retry(bigint)'), ('symphony.remove_dead(bigint)'),
  ('symphony.email_address(text)'), ('symphony.actor()'),
  -- run by the insert trigger as the inserting role:
  ('symphony._fail(text,text,text)'), ('symphony._check_addresses(text,text,jsonb,boolean,integer)'),
  ('symphony._check_string(text,text,jsonb,boolean,integer,boolean)'),
  ('symphony.validate_email_payload(jsonb)'), ('symphony.validate_sms_payload(jsonb)'),
  -- campaigns, drips, schedules and suppression: operator actions,
  ('symphony.start_campaign(bigint,timestamp with time zone)'), ('symphony.pause_campaign(bigint)'),
  ('symphony.resume_campaign(bigint)'), ('symphony.cancel_campaign(bigint,text)'),
  ('symphony.unenroll(bigint,text)'), ('symphony.unenroll(text,text,text)'), ('symphony.suppress(text,text,text,text)'),
  -- helpers, and what their triggers and checks run as the writing role:
  ('symphony.normalize_address(text,text)'), ('symphony.template_variables(text,text)'),
  ('symphony.valid_time_zone(text)'), ('symphony.cron_next(text,text,timestamp with time zone)'),
  ('symphony.schedule_next(interval,text,text,timestamp with time zone)'), ('symphony.validate_payload(text,jsonb)'),
  ('symphony.missing_variable(text[],jsonb,text[])'), ('symphony.campaign_builtins()'),
  ('symphony.validate_quiet_hours(text,jsonb)'), ('symphony._check_id(text,text,jsonb)'),
  ('symphony._cron_field(text,text,integer,integer)'), ('symphony.validate_campaign_process_payload(jsonb)'),
  ('symphony.validate_drip_step_payload(jsonb)'),
  -- the check on kinds.config runs as the writing role:
  ('symphony._config_credential(jsonb,text)'),
  -- read by the symphony.queue_stats view, as the reading role:
  ('symphony._finished_recently()'), ('symphony.queue_stats_bounded(integer)'),
  ('symphony.queue_depth_bounded(integer)')
$$, 'service_role may execute exactly the dispatch, routing, operator and validation functions (edit this list deliberately)');

-- Every write privilege service_role holds, table- or column-level.
select set_eq($$
  select c.relname::text, p.priv, null::text
    from pg_class c, unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv)
   where c.relnamespace = 'symphony'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and has_table_privilege('service_role', c.oid, p.priv)
  union all
  select c.relname::text, p.priv, a.attname::text
    from pg_class c
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped,
         unnest(array['INSERT', 'UPDATE', 'REFERENCES']) p(priv)
   where c.relnamespace = 'symphony'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and not has_table_privilege('service_role', c.oid, p.priv)
     and has_column_privilege('service_role', c.oid, a.attnum, p.priv)
$$, $$ values
  ('messages', 'INSERT', null::text),
  ('kinds', 'INSERT', null), ('kinds', 'UPDATE', null),
  ('queues', 'INSERT', null), ('queues', 'UPDATE', null),
  ('flags', 'UPDATE', 'enabled'), ('flags', 'UPDATE', 'rollout_percent'), ('flags', 'UPDATE', 'description'),
  ('rate_limits', 'UPDATE', 'per_second'), ('rate_limits', 'UPDATE', 'burst'), ('rate_limits', 'UPDATE', 'description'),
  -- campaigns, drips, schedules and suppression: content and audiences; states only through functions
  ('templates', 'INSERT', null), ('templates', 'UPDATE', null), ('templates', 'DELETE', null),
  ('suppressions', 'INSERT', null), ('suppressions', 'UPDATE', null), ('suppressions', 'DELETE', null),
  ('drip_steps', 'INSERT', null), ('drip_steps', 'UPDATE', null), ('drip_steps', 'DELETE', null),
  ('campaigns', 'INSERT', null), ('campaign_recipients', 'INSERT', null), ('campaign_recipients', 'DELETE', null),
  ('drips', 'INSERT', null), ('drip_enrollments', 'INSERT', null), ('schedules', 'INSERT', null), ('schedules', 'DELETE', null),
  ('campaigns', 'UPDATE', 'name'), ('campaigns', 'UPDATE', 'from'), ('campaigns', 'UPDATE', 'reply_to'),
  ('campaigns', 'UPDATE', 'template'), ('campaigns', 'UPDATE', 'subject'), ('campaigns', 'UPDATE', 'html'),
  ('campaigns', 'UPDATE', 'text'), ('campaigns', 'UPDATE', 'unsubscribe_url'), ('campaigns', 'UPDATE', 'unsubscribe_mailto'),
  ('campaigns', 'UPDATE', 'priority'), ('campaigns', 'UPDATE', 'batch_size'), ('campaigns', 'UPDATE', 'meta'),
  ('campaign_recipients', 'UPDATE', 'email'), ('campaign_recipients', 'UPDATE', 'data'),
  ('drips', 'UPDATE', 'name'), ('drips', 'UPDATE', 'from'), ('drips', 'UPDATE', 'time_zone'),
  ('drips', 'UPDATE', 'quiet_hours'), ('drips', 'UPDATE', 'send_from'), ('drips', 'UPDATE', 'send_until'),
  ('drip_enrollments', 'UPDATE', 'data'), ('drip_enrollments', 'UPDATE', 'time_zone'),
  ('schedules', 'UPDATE', 'kind'), ('schedules', 'UPDATE', 'payload'), ('schedules', 'UPDATE', 'options'),
  ('schedules', 'UPDATE', 'every'), ('schedules', 'UPDATE', 'cron'), ('schedules', 'UPDATE', 'time_zone'),
  ('schedules', 'UPDATE', 'enabled'), ('schedules', 'UPDATE', 'next_run_at'), ('schedules', 'UPDATE', 'description')
$$, 'service_role writes exactly: dispatch (INSERT messages), kinds and queues, flag switches, rate-limit settings, and campaign, drip, schedule and suppression management');

select is_empty($$
  select c.oid::regclass
    from pg_class c
   where c.relnamespace = 'symphony'::regnamespace and c.relkind = 'S'
     -- CASE: the planner may evaluate the privilege check before the relkind filter.
     and case when c.relkind = 'S' then
           has_sequence_privilege('service_role', c.oid, 'USAGE,UPDATE')
           -- symphony.listening is read by the insert trigger, as the dispatching role.
           or (c.oid <> 'symphony.listening'::regclass and has_sequence_privilege('service_role', c.oid, 'SELECT'))
         end
$$, 'service_role has no privilege on any sequence in symphony but reading symphony.listening (identity columns need none; setval would be a way to collide ids)');

set local role service_role;
select lives_ok($$update symphony.flags set rollout_percent = 7 where name = 'sms_drip'$$,
  'service_role: may change a flag''s rollout_percent');
select throws_ok($$update symphony.flags set updated_by = 'someone else' where name = 'sms_drip'$$,
  '42501', null, 'service_role: may not forge a flag''s updated_by');
select throws_ok($$delete from symphony.flags where name = 'sms_drip'$$,
  '42501', null, 'service_role: may not delete a flag');
select lives_ok($$update symphony.rate_limits set per_second = 5, burst = 5 where name = 'sms'$$,
  'service_role: may set a rate limit');
select throws_ok($$update symphony.rate_limits set tokens = 1000 where name = 'sms'$$,
  '42501', null, 'service_role: may not fill a token bucket by hand');
select throws_ok($$select * from symphony.take_tokens('sms', 10)$$,
  '42501', null, 'service_role: may not take tokens (the sidecar''s claim path)');
select throws_ok($$select symphony.throttle('sms', interval '1 hour')$$,
  '42501', null, 'service_role: may not pause a bucket');
select throws_ok($$select symphony.tick()$$,
  '42501', null, 'service_role: may not run the tick');
select throws_ok($$select symphony.purge_finished(interval '0 seconds')$$,
  '42501', null, 'service_role: may not purge history');
select throws_ok($$select symphony.bridge_hand_back('email_queue')$$,
  '42501', null, 'service_role: may not hand bridged rows back outside a flag change');
select throws_ok($$select symphony.install_bridge('x', 'symphony.flags', 'email_queue', 'email.send', '{"to": "name"}')$$,
  '42501', null, 'service_role: may not install a bridge (it adds triggers as the owner)');
select throws_ok($$create table symphony.intruder (id int)$$,
  '42501', null, 'service_role: may not create objects in schema symphony');
select throws_ok($$select nextval('symphony.messages_id_seq')$$,
  '42501', null, 'service_role: may not draw from the message id sequence');
reset role;

-- ---------------------------------------------------------------------------
-- Views. One without security_invoker reads its tables with its owner's rights; it must
-- not widen access: every role that may read it may read every table it reads.
-- ---------------------------------------------------------------------------
select is_empty($$
  select distinct v.oid::regclass as view, d.refobjid::regclass as reads, r
    from pg_class v
    join pg_rewrite w on w.ev_class = v.oid
    join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = w.oid
                    and d.refclassid = 'pg_class'::regclass and d.refobjid <> v.oid,
         unnest(array['anon', 'authenticated', 'service_role']) r
   where v.relnamespace = 'symphony'::regnamespace and v.relkind in ('v', 'm')
     and not coalesce('security_invoker=true' = any(v.reloptions), false)
     and has_table_privilege(r, v.oid, 'SELECT')
     and not has_table_privilege(r, d.refobjid, 'SELECT')
$$, 'no view in symphony lets a role read a table it could not read directly');

select is_empty($$
  select v.oid::regclass, r
    from pg_class v, unnest(array['anon', 'authenticated']) r
   where v.relnamespace = 'symphony'::regnamespace and v.relkind in ('v', 'm')
     and has_table_privilege(r, v.oid, 'SELECT')
$$, 'anon and authenticated can read no view in symphony');

-- ---------------------------------------------------------------------------
-- Exposed schemas (supabase/config.toml [api] schemas: public, graphql_public). The
-- project creates no table there, but the check is on the catalog: any table the
-- project (not an extension) has there must have row level security, any view must
-- run as its caller, and no function there may run as its owner.
-- ---------------------------------------------------------------------------
create temp view exposed_without_rls as
select c.oid::regclass as relation
  from pg_class c
 where c.relnamespace in (select oid from pg_namespace where nspname in ('public', 'graphql_public'))
   and c.relkind in ('r', 'p')
   and not c.relrowsecurity
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');

select is_empty($$ select * from exposed_without_rls $$,
  'every table in an exposed schema (public, graphql_public) has row level security');

select is_empty($$
  select c.oid::regclass
    from pg_class c
   where c.relnamespace in (select oid from pg_namespace where nspname in ('public', 'graphql_public'))
     and c.relkind in ('v', 'm')
     and not coalesce('security_invoker=true' = any(c.reloptions), false)
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
$$, 'every view in an exposed schema runs with the caller''s rights (security_invoker)');

select is_empty($$
  select p.oid::regprocedure
    from pg_proc p
   where p.pronamespace in (select oid from pg_namespace where nspname in ('public', 'graphql_public'))
     and p.prosecdef
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
$$, 'no SECURITY DEFINER function in an exposed schema (it would be callable through the Data API)');

-- The checks above must be able to fail: a table without RLS in public is found.
create table public.access_probe (id int);
select results_eq($$ select relation::text from exposed_without_rls where relation = 'public.access_probe'::regclass $$,
  $$ values ('access_probe') $$, 'the exposed-schema check finds a table without row level security');
alter table public.access_probe enable row level security;
select is_empty($$ select * from exposed_without_rls where relation = 'public.access_probe'::regclass $$,
  'and stops finding it once row level security is on');
drop table public.access_probe;

-- A bridge only adds a column to the app's table in public; it must not turn RLS off.
create table public.access_bridged (id bigint generated always as identity primary key, recipient text, status text);
alter table public.access_bridged enable row level security;
select symphony.install_bridge('access_bridged', 'public.access_bridged', 'email_queue', 'email.send',
  '{"to": "recipient", "from": {"const": "ops@example.com"}, "subject": {"const": "s"}, "text": {"const": "t"}}',
  '{"status_column": "status"}');
select ok((select relrowsecurity from pg_class where oid = 'public.access_bridged'::regclass),
  'installing a bridge keeps row level security on the bridged table');
select has_column('public', 'access_bridged', 'handled_by', 'the bridge added only its owner column');

-- Schema symphony is never exposed: PostgREST's db_schemas is not set to include it on
-- any role (Supabase keeps the setting on the authenticator role).
select is_empty($$
  select r.rolname, s.setconfig
    from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
   where exists (select 1 from unnest(s.setconfig) c where c ~ '^pgrst\.db_schemas=.*\msymphony\M')
$$, 'no role setting exposes schema symphony through PostgREST (pgrst.db_schemas)');
select ok(not has_schema_privilege('authenticator', 'symphony', 'USAGE'),
  'authenticator (the Data API''s login role) cannot use schema symphony');

select * from finish();
rollback;
