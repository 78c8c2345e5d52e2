-- Rollout routing: symphony.bucket is the documented stable hash, symphony.rollout is
-- master AND flag AND bucket < rollout_percent, raising a percentage only adds subjects,
-- and every flag change is audited.
begin;
create extension if not exists pgtap;
select plan(38);

-- ---------------------------------------------------------------------------
-- bucket(flag, subject) = first 8 hex digits of md5(flag || ':' || subject), read as an
-- unsigned 32-bit number, mod 100.
-- ---------------------------------------------------------------------------

-- Known values, computed outside PostgreSQL (md5 of the UTF-8 string "flag:subject").
-- Most have the top bit set, so a signed reading of the 32 bits would give other buckets.
select results_eq(
  $$select symphony.bucket(f, s) from (values
      ('email_queue', 'user-1'),            -- 79dc398b = 2044475787
      ('email_queue', '42'),                -- 8ab9c478 = 2327430264
      ('sms_drip', '+14155550100'),         -- cb339a9f = 3409156767
      ('campaign_processing', 'c0ffee'),    -- d789a685 = 3616122501
      ('email_queue', '')                   -- f0037f73 = 4026761075
    ) v(f, s)$$,
  $$values (87), (64), (67), (1), (75)$$,
  'bucket matches values computed independently of PostgreSQL');

-- The same formula written differently: the 8 hex digits as the low half of a 64-bit number.
select is_empty($$
  select g from generate_series(1, 2000) g
   where symphony.bucket('email_queue', 'user-' || g)
         <> ((('x' || lpad(substr(md5('email_queue:user-' || g), 1, 8), 16, '0'))::bit(64)::bigint) % 100)::int
$$, 'bucket equals the documented formula for 2,000 subjects');

select is_empty($$
  select g from generate_series(1, 2000) g
   where symphony.bucket('sms_drip', g::text) not between 0 and 99
$$, 'bucket is always in 0..99');

select is(symphony.bucket('email_queue', 'user-1'), symphony.bucket('email_queue', 'user-1'),
  'bucket is deterministic');
select is((select provolatile from pg_proc where oid = 'symphony.bucket(text, text)'::regprocedure), 'i',
  'bucket is declared IMMUTABLE (a bucket never changes)');
select is(symphony.bucket('email_queue', null), null, 'bucket of a null subject is null');

-- ---------------------------------------------------------------------------
-- rollout(flag, subject)
-- ---------------------------------------------------------------------------
create temp table subjects as select 'user-' || g as s from generate_series(1, 10000) g;

-- share returns the percentage of the 10,000 subjects routed for a flag.
create function pg_temp.share(flag text) returns numeric language sql as $$
  select round(100.0 * count(*) filter (where symphony.rollout(flag, s)) / count(*), 2) from subjects
$$;

-- The master switch is off after the migration: nothing is routed, even at 100%.
update symphony.flags set enabled = false where name = 'symphony';
update symphony.flags set enabled = true, rollout_percent = 100 where name = 'email_queue';
select is(pg_temp.share('email_queue'), 0.00, 'master off: nothing is routed even with the flag on at 100%');
select ok(not symphony.rollout('email_queue', null), 'master off: a null subject is not routed either');

update symphony.flags set enabled = true where name = 'symphony';
update symphony.flags set enabled = false, rollout_percent = 100 where name = 'email_queue';
select is(pg_temp.share('email_queue'), 0.00, 'flag off: nothing is routed even at 100% with the master on');

update symphony.flags set enabled = true, rollout_percent = 0 where name = 'email_queue';
select is(pg_temp.share('email_queue'), 0.00, 'master and flag on at 0%: exactly nothing is routed');
select ok(not symphony.rollout('email_queue', null), 'at 0%: a null subject is not routed');

update symphony.flags set rollout_percent = 10 where name = 'email_queue';
select cmp_ok(abs(pg_temp.share('email_queue') - 10), '<=', 2::numeric, 'at 10%: the routed share is within 2 points of 10');
create temp table routed_at_10 as select s from subjects where symphony.rollout('email_queue', s);
select ok(not symphony.rollout('email_queue', null), 'at 10%: a null subject is not routed');
select is_empty($$
  select s from subjects where symphony.rollout('email_queue', s) <> (symphony.bucket('email_queue', s) < 10)
$$, 'at 10%: routed exactly when bucket < 10');

update symphony.flags set rollout_percent = 50 where name = 'email_queue';
select cmp_ok(abs(pg_temp.share('email_queue') - 50), '<=', 2::numeric, 'at 50%: the routed share is within 2 points of 50');
select is_empty($$
  select s from routed_at_10 where not symphony.rollout('email_queue', s)
$$, 'raising 10% to 50% only adds subjects: every subject routed at 10% is routed at 50%');
select ok((select count(*) from subjects where symphony.rollout('email_queue', s)) > (select count(*) from routed_at_10),
  'raising 10% to 50% adds subjects');
select ok(not symphony.rollout('email_queue', null), 'at 50%: a null subject is not routed');

-- Another flag at the same percentage picks a different half: buckets are per flag.
update symphony.flags set enabled = true, rollout_percent = 50 where name = 'sms_drip';
select cmp_ok(abs(pg_temp.share('sms_drip') - 50), '<=', 2::numeric, 'a second flag at 50%: share within 2 points of 50');
select ok(
  (select count(*) from subjects where symphony.rollout('email_queue', s) <> symphony.rollout('sms_drip', s)) > 0,
  'two flags at 50% route different sets of subjects');
select cmp_ok(
  abs((select 100.0 * count(*) filter (where symphony.rollout('email_queue', s) <> symphony.rollout('sms_drip', s)) / count(*) from subjects) - 50),
  '<=', 3::numeric,
  'two flags at 50% bucket independently: about half the subjects are routed by exactly one of them');

update symphony.flags set rollout_percent = 100 where name = 'email_queue';
select is(pg_temp.share('email_queue'), 100.00, 'at 100%: every subject is routed');
select ok(symphony.rollout('email_queue', null), 'at 100%: a null subject is routed');

-- Back down to 0 (rollback of a migration step) routes nothing again.
update symphony.flags set rollout_percent = 0 where name = 'email_queue';
select is(pg_temp.share('email_queue'), 0.00, 'lowering back to 0% routes nothing');

select throws_ok($$select symphony.rollout('no_such_flag', 'user-1')$$, '22023', null, 'an unknown flag raises 22023');
select throws_like($$select symphony.rollout('no_such_flag', 'user-1')$$, '%no_such_flag%', 'the unknown-flag error names the flag');
select throws_ok($$select symphony.rollout(null, 'user-1')$$, '22023', null, 'a null flag raises 22023');

-- Turning the master switch off again stops everything at once.
update symphony.flags set rollout_percent = 100 where name = 'email_queue';
update symphony.flags set enabled = false where name = 'symphony';
select is(pg_temp.share('email_queue'), 0.00, 'master switched off again: nothing is routed');

-- ---------------------------------------------------------------------------
-- Audit: every change of enabled or rollout_percent writes symphony.flag_changes.
-- ---------------------------------------------------------------------------
-- Start from a known state, then count only this flag's audit rows written after it.
update symphony.flags set enabled = false, rollout_percent = 0 where name = 'campaign_processing';
create temp table audit_mark as select coalesce(max(id), 0) as last_id from symphony.flag_changes;
create view pg_temp.new_changes as
  select * from symphony.flag_changes
   where id > (select last_id from audit_mark) and flag = 'campaign_processing';

update symphony.flags set enabled = false, rollout_percent = 0 where name = 'campaign_processing';  -- the same values again
select is((select count(*)::int from pg_temp.new_changes), 0,
  'an update that changes neither enabled nor rollout_percent writes no audit row');
update symphony.flags set description = 'Campaigns, moving to Symphony.' where name = 'campaign_processing';
select is((select count(*)::int from pg_temp.new_changes), 0,
  'a description-only update writes no audit row');

set local symphony.actor = 'ops@example.com';
update symphony.flags set enabled = true, rollout_percent = 25 where name = 'campaign_processing';
select results_eq(
  $$select flag, changed_by, old_enabled, new_enabled, old_rollout_percent, new_rollout_percent
      from pg_temp.new_changes order by id$$,
  $$values ('campaign_processing'::text, 'ops@example.com'::text, false, true, 0, 25)$$,
  'a flag update writes one audit row with old and new values and changed_by');
select results_eq(
  $$select updated_by, updated_at from symphony.flags where name = 'campaign_processing'$$,
  $$values ('ops@example.com'::text, now())$$,
  'a flag update stamps updated_by and updated_at');

-- Without symphony.actor: the JWT email when a request carries one, else the session user.
set local symphony.actor = '';
set local request.jwt.claims = '{"email": "studio-user@example.com", "role": "service_role"}';
update symphony.flags set rollout_percent = 50 where name = 'campaign_processing';
select is(
  (select changed_by from pg_temp.new_changes order by id desc limit 1),
  'service_role (studio-user@example.com)', 'without symphony.actor, changed_by is the role and email of the request''s JWT');
set local request.jwt.claims = '';
update symphony.flags set rollout_percent = 75 where name = 'campaign_processing';
select results_eq(
  $$select changed_by, old_rollout_percent, new_rollout_percent
      from pg_temp.new_changes order by id desc limit 1$$,
  $$values (session_user::text collate "default", 50, 75)$$,
  'without symphony.actor or a JWT, changed_by is the session user');

-- service_role changes flags in Studio; its change is audited although it cannot write the audit table.
set local role service_role;
set local symphony.actor = 'service@example.com';
select lives_ok($$update symphony.flags set enabled = false where name = 'campaign_processing'$$,
  'service_role may update a flag');
reset role;
select results_eq(
  $$select changed_by, old_enabled, new_enabled, old_rollout_percent, new_rollout_percent
      from pg_temp.new_changes order by id desc limit 1$$,
  $$values ('service@example.com'::text, true, false, 75, 75)$$,
  'a flag change by service_role is audited');
select is((select count(*)::int from pg_temp.new_changes), 4,
  'four real changes, four audit rows');

set local role service_role;
select throws_ok($$update symphony.flags set updated_by = 'someone else' where name = 'sms_drip'$$,
  '42501', null, 'service_role may not forge updated_by');
reset role;

select * from finish();
rollback;
