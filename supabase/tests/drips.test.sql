-- SMS drips: enrollment checks, and timing driven by an explicit clock: no step
-- before its time, none skipped, none twice; completion, unenrollment and opt-out
-- end an enrollment.
begin;
create extension if not exists pgtap;
select plan(26);

update symphony.flags set enabled = true where name = 'symphony';

insert into symphony.drips (name, "from") values ('tap-onboarding', '+14155550199');
create temp table d as select id from symphony.drips where name = 'tap-onboarding';
insert into symphony.drip_steps (drip_id, position, delay, body) values
  ((select id from d), 0, interval '10 minutes', 'Welcome {{name}}!'),
  ((select id from d), 1, interval '1 day', 'Day two, {{name}}'),
  ((select id from d), 5, interval '2 days', 'Last one to {{phone}}');

-- step(e, n, t): one drip.step attempt at time t, as the handler runs it (with the
-- body sent as is); returns the action taken.
create function pg_temp.step(e bigint, n integer, t timestamptz) returns text language plpgsql as $$
declare
  b jsonb := symphony.drip_step_begin(e, n, t);
begin
  if b ->> 'action' = 'send' then
    perform symphony.drip_step_sent(e, (b ->> 'position')::integer,
      jsonb_build_object('to', b ->> 'phone', 'body', b ->> 'body'), '{}', t);
  end if;
  return b ->> 'action';
end $$;
create function pg_temp.enr(phone text) returns symphony.drip_enrollments language sql as $$
  select * from symphony.drip_enrollments where phone = $1 and drip_id = (select id from d) order by id desc limit 1
$$;

-- ---------------------------------------------------------------------------
-- Enrollment.
-- ---------------------------------------------------------------------------
insert into symphony.drip_enrollments (drip_id, phone, data, enrolled_at)
values ((select id from d), '+1 (415) 555-0100', '{"name": "Ada"}', '2030-01-01 12:00+00');
select results_eq($$select status, next_step, next_at from pg_temp.enr('+14155550100')$$,
  $$values ('active'::text, 0, '2030-01-01 12:10+00'::timestamptz)$$,
  'an enrollment normalizes the phone and points at the first step, due its delay after enrollment');
select results_eq($$select kind, available_at, dedupe_key from symphony.messages where dedupe_key = format('drip:%s:0', (pg_temp.enr('+14155550100')).id)$$,
  $$values ('drip.step'::text, '2030-01-01 12:10+00'::timestamptz, format('drip:%s:0', (pg_temp.enr('+14155550100')).id))$$,
  'the first drip.step is dispatched, due when the step is');
select throws_like(format($$insert into symphony.drip_enrollments (drip_id, phone) values (%s, '+14155550101')$$, (select id from d)),
  '%step 0 uses {{name}}, which enrollment +14155550101 has no value for%', 'an enrollment missing a variable is refused, naming it');
select throws_like(format($$insert into symphony.drip_enrollments (drip_id, phone, data) values (%s, '555-0100', '{"name": "x"}')$$, (select id from d)),
  '%"phone" must be an E.164 number%', 'a phone that is not E.164 is refused');
select throws_ok(format($$insert into symphony.drip_enrollments (drip_id, phone, data) values (%s, '+14155550100', '{"name": "x"}')$$, (select id from d)),
  '23505', null, 'a phone is enrolled in a drip once at a time');
select throws_ok(format($$insert into symphony.drip_enrollments (drip_id, phone, data, time_zone) values (%s, '+14155550102', '{"name": "x"}', 'EST')$$, (select id from d)),
  '23514', null, 'a time zone that is not an IANA name is refused');
insert into symphony.drips (name) values ('tap-empty');
select throws_like($$insert into symphony.drip_enrollments (drip_id, phone) select id, '+14155550103' from symphony.drips where name = 'tap-empty'$$,
  '%has no steps to enroll into%', 'a drip without steps takes no enrollment');

-- ---------------------------------------------------------------------------
-- Timing with a controllable clock.
-- ---------------------------------------------------------------------------
create temp table e as select (pg_temp.enr('+14155550100')).id;
select is(pg_temp.step((select id from e), 0, '2030-01-01 12:09:59+00'), 'wait', 'step 0 does not run a second before it is due');
select is((select count(*)::int from symphony.messages where kind = 'sms.send' and meta ->> 'enrollment_id' = (select id from e)::text), 0,
  'and sends nothing');
select is(pg_temp.step((select id from e), 0, '2030-01-01 12:10+00'), 'send', 'step 0 runs when due');
select results_eq($$select payload ->> 'body', dedupe_key from symphony.messages where kind = 'sms.send' and meta ->> 'enrollment_id' = (select id from e)::text$$,
  $$values ('Welcome {{name}}!'::text, format('drip:%s:0:sms', (select id from e)))$$, 'its sms.send is dispatched with dedupe_key drip:<enrollment>:<step>:sms');
select results_eq($$select next_step, next_at, steps_sent from symphony.drip_enrollments where id = (select id from e)$$,
  $$values (1, '2030-01-02 12:10+00'::timestamptz, 1)$$, 'the cursor moves to step 1, due a day after step 0 was sent');
select is(pg_temp.step((select id from e), 0, '2030-01-01 12:11+00'), 'stop', 'step 0 does not run twice');
select throws_ok(format('select symphony.drip_step_sent(%s, 0, ''{"to": "+14155550100", "body": "x"}'')', (select id from e)),
  '55000', null, 'nor can its SMS be dispatched twice');
select is(pg_temp.step((select id from e), 1, '2030-01-02 12:09+00'), 'wait', 'step 1 waits for its time');
select is(pg_temp.step((select id from e), 1, '2030-01-02 15:00+00'), 'send', 'step 1 runs late when the sidecar was away');
select results_eq($$select next_step, next_at from symphony.drip_enrollments where id = (select id from e)$$,
  $$values (5, '2030-01-04 15:00+00'::timestamptz)$$, 'the next position (5) is due its delay after step 1 was actually sent');
select is(pg_temp.step((select id from e), 5, '2030-01-04 15:00+00'), 'send', 'the last step runs');
select results_eq($$select status, next_step, ended_at is not null, steps_sent from symphony.drip_enrollments where id = (select id from e)$$,
  $$values ('completed'::text, null::integer, true, 3)$$, 'after the last step the enrollment is completed');
select is((select array_agg((meta ->> 'step')::int order by id) from symphony.messages where kind = 'sms.send' and meta ->> 'enrollment_id' = (select id from e)::text),
  array[0, 1, 5], 'exactly one SMS per step, in order: none skipped, none twice');

-- ---------------------------------------------------------------------------
-- Ending an enrollment: unenroll, opt-out, and a phone suppressed beforehand.
-- ---------------------------------------------------------------------------
insert into symphony.drip_enrollments (drip_id, phone, data, enrolled_at)
values ((select id from d), '+14155550110', '{"name": "Bo"}', '2030-01-01 12:00+00'),
       ((select id from d), '+14155550111', '{"name": "Cy"}', '2030-01-01 12:00+00');
select ok(symphony.unenroll('tap-onboarding', '+1 415 555 0110'), 'unenroll by drip name and phone');
select results_eq($$select e.status, m.state, m.cancelled_by is not null from symphony.drip_enrollments e
                    join symphony.messages m on m.dedupe_key = format('drip:%s:0', e.id) where e.phone = '+14155550110'$$,
  $$values ('unenrolled'::text, 'cancelled'::text, true)$$, 'unenrolling cancels the waiting drip.step');
select is(pg_temp.step((pg_temp.enr('+14155550110')).id, 0, '2030-01-01 13:00+00'), 'stop', 'an unenrolled phone gets no step');
select ok(symphony.suppress('sms', '+14155550111', 'stop', 'twilio'), 'a STOP is recorded');
select results_eq($$select e.status, e.end_reason, m.state, m.cancelled_by from symphony.drip_enrollments e
                    join symphony.messages m on m.dedupe_key = format('drip:%s:0', e.id) where e.phone = '+14155550111'$$,
  $$values ('opted_out'::text, 'suppressed: stop'::text, 'cancelled'::text, 'suppression'::text)$$,
  'a STOP ends the phone''s enrollments at once and cancels what they had waiting');
insert into symphony.drip_enrollments (drip_id, phone, data) values ((select id from d), '+14155550111', '{"name": "Cy"}');
select results_eq($$select status, (select count(*)::int from symphony.messages where dedupe_key = format('drip:%s:0', e.id))
                    from symphony.drip_enrollments e where phone = '+14155550111' and status <> 'active' order by id desc limit 1$$,
  $$values ('opted_out'::text, 0)$$, 'enrolling a suppressed phone records it as opted out and dispatches nothing');

select * from finish();
rollback;
