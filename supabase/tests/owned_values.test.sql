-- Values a client could set that nothing can read, serve or send are refused at
-- insert: non-finite times, queues no one serves. Every time column stays finite.
begin;
create extension if not exists pgtap;
select plan(16);

create temp table p as select '{"to":"a@example.com","from":"b@example.com","subject":"s","text":"t"}'::jsonb as v;
grant select on p to service_role;

set local role service_role;

-- created_at: what the sidecar reads with every claim. 'infinity' cannot be read.
select throws_like($$insert into symphony.messages (kind, payload, created_at) select 'email.send', v, 'infinity' from p$$,
  '%created_at must be a finite time%', 'a message with created_at = infinity is refused');
select throws_like($$insert into symphony.messages (kind, payload, created_at) select 'email.send', v, '-infinity' from p$$,
  '%created_at must be a finite time%', 'and with -infinity');

-- available_at, from dispatch's run_at and delay or a plain insert.
select throws_like($$select symphony.dispatch('email.send', v, '{"run_at": "infinity"}') from p$$,
  '%available_at (run_at, delay) must be a finite time%', 'dispatch refuses run_at = infinity (it would never be sent)');
select throws_like($$select symphony.dispatch('email.send', v, '{"run_at": "-infinity"}') from p$$,
  '%available_at (run_at, delay) must be a finite time%', 'dispatch refuses run_at = -infinity (it broke queue_stats)');
select throws_like($$insert into symphony.messages (kind, payload, available_at) select 'email.send', v, '-infinity' from p$$,
  '%available_at (run_at, delay) must be a finite time%', 'a plain insert of available_at = -infinity is refused');
select lives_ok($$select symphony.dispatch('email.send', v, '{"run_at": "2030-01-01T09:00:00Z", "delay": 60}') from p$$,
  'a finite run_at and delay are taken');

-- Queues: a typo would queue a message that no sidecar claims.
select throws_like($$select symphony.dispatch('email.send', v, '{"queue": "emails"}') from p$$,
  '%queue "emails" is not a known queue%', 'dispatch refuses a queue nothing serves');
select throws_like($$insert into symphony.messages (kind, payload, queue) select 'email.send', v, 'emails' from p$$,
  '%queue "emails" is not a known queue%', 'and so does a plain insert');
select lives_ok($$select symphony.dispatch('email.send', v, '{"queue": "default"}') from p$$,
  'a queue of symphony.queues is taken');
select lives_ok($$select symphony.register_kind('report.build', 'reports')$$, 'a kind may name its own queue');
select lives_ok($$select symphony.dispatch('report.build', '{}', '{"queue": "reports"}')$$,
  'a queue some kind goes to is taken');
select lives_ok($$insert into symphony.queues (name, description) values ('bulk_email', 'newsletters')$$, 'a queue may be added');
select lives_ok($$select symphony.dispatch('email.send', v, '{"queue": "bulk_email"}') from p$$, 'and then used');

-- queue_stats reads every pending row's time: it answers.
select lives_ok($$select * from symphony.queue_stats$$, 'queue_stats answers');

reset role;

-- Every time column of every Symphony table refuses non-finite values, whoever writes
-- (an update by the table owner included), so nothing the sidecar reads is unreadable.
select is(
  (select coalesce(string_agg(format('%s.%s', c.relname, a.attname), ', ' order by 1), '')
     from pg_catalog.pg_attribute a
     join pg_catalog.pg_class c on c.oid = a.attrelid
    where c.relnamespace = 'symphony'::regnamespace and c.relkind in ('r', 'p')
      and a.attnum > 0 and not a.attisdropped and a.atttypid = 'timestamptz'::regtype
      and not exists (select 1 from pg_catalog.pg_constraint k
                       where k.conrelid = c.oid and k.contype = 'c' and k.convalidated
                         and k.conkey = array[a.attnum]
                         and pg_catalog.pg_get_constraintdef(k.oid) like '%isfinite(' || quote_ident(a.attname) || ')%')),
  '', 'every timestamptz column has a validated check that it is finite');
select throws_ok($$update symphony.messages set created_at = 'infinity' where id = (select max(id) from symphony.messages)$$,
  '23514', null, 'even the owner cannot store an infinite created_at');

select * from finish();
rollback;
