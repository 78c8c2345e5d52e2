-- Schedules: cron and interval due times, checks at write, and firing exactly
-- once per due time with an explicit clock.
begin;
create extension if not exists pgtap;
select plan(20);

-- ---------------------------------------------------------------------------
-- Due times.
-- ---------------------------------------------------------------------------
select is(symphony.cron_next('*/15 * * * *', 'UTC', '2030-01-01 10:07:30+00'), '2030-01-01 10:15+00'::timestamptz,
  'cron */15 minutes');
select is(symphony.cron_next('0 9 * * 1-5', 'America/New_York', '2030-01-04 15:00+00'), '2030-01-07 14:00+00'::timestamptz,
  'cron weekdays at 09:00 New York: Friday after 9 goes to Monday');
select is(symphony.cron_next('0 0 29 2 *', 'UTC', '2030-01-01+00'), '2032-02-29 00:00+00'::timestamptz,
  'cron 29 February waits for a leap year');
select is(symphony.cron_next('0 12 1 * 1', 'UTC', '2030-01-02+00'), '2030-01-07 12:00+00'::timestamptz,
  'cron with both day fields matches either (the 1st or a Monday), as crontab does');
select is(symphony.cron_next('30 1 * * *', 'America/Los_Angeles', '2030-11-03 08:30+00'), '2030-11-04 09:30+00'::timestamptz,
  'cron at 01:30 fires once on the night clocks go back');
select is(symphony.cron_next('30 2 * * *', 'America/New_York', '2030-03-10 05:00+00'), '2030-03-10 07:30+00'::timestamptz,
  'cron at 02:30 on the night clocks go forward fires at the same instant as 03:30');
select is(symphony.schedule_next(interval '1 minute', null, 'UTC', '2030-01-01 10:07:30+00'), '2030-01-01 10:08+00'::timestamptz,
  'every 1 minute is aligned to whole minutes');
select is(symphony.schedule_next(interval '1 hour', null, 'UTC', '2030-01-01 10:00+00'), '2030-01-01 11:00+00'::timestamptz,
  'a due time is strictly after the given time');

-- ---------------------------------------------------------------------------
-- Checks at write.
-- ---------------------------------------------------------------------------
select throws_like($$insert into symphony.schedules (name, kind, payload, cron) values ('tap-bad', 'sms.send', '{"to": "+14155550100", "body": "x"}', '61 * * * *')$$,
  '%cron minute field ''61'' is outside 0-59%', 'a bad cron field is refused, naming it');
select throws_like($$insert into symphony.schedules (name, kind, payload, cron) values ('tap-bad', 'sms.send', '{"to": "+14155550100", "body": "x"}', '* * * *')$$,
  '%must have 5 fields%', 'a cron expression needs five fields');
select throws_like($$insert into symphony.schedules (name, kind, payload, every) values ('tap-bad', 'sms.send', '{"to": "+14155550100", "body": "x"}', '1 month')$$,
  '%must be a fixed length%', 'every cannot be months');
select throws_like($$insert into symphony.schedules (name, kind, payload, every) values ('tap-bad', 'sms.send', '{"to": "+1415", "body": "x"}', '1 hour')$$,
  '%"to" must be an E.164 phone number%', 'the payload is validated as its kind is at dispatch');
select throws_like($$insert into symphony.schedules (name, kind, payload, every, options) values ('tap-bad', 'sms.send', '{"to": "+14155550100", "body": "x"}', '1 hour', '{"dedupe_key": "x"}')$$,
  '%option ''dedupe_key'' is not allowed%', 'options are limited to what a recurring dispatch may set');

-- ---------------------------------------------------------------------------
-- Firing.
-- ---------------------------------------------------------------------------
-- Only this test's schedules are due in 2100; others in the database are not touched
-- because they are disabled for the test.
update symphony.schedules set enabled = false;
insert into symphony.schedules (name, kind, payload, every, options)
values ('tap-ping', 'sms.send', '{"to": "+14155550100", "body": "ping"}', '1 minute', '{"meta": {"source": "tap"}}');
update symphony.schedules set next_run_at = '2100-01-01 00:01+00' where name = 'tap-ping';
select is(symphony.run_schedules('2100-01-01 00:00:59+00'), 0, 'nothing fires before its due time');
select is(symphony.run_schedules('2100-01-01 00:03:30+00'), 1, 'a schedule three minutes late fires once');
select results_eq($$select kind, dedupe_key, meta from symphony.messages where id = (select last_message_id from symphony.schedules where name = 'tap-ping')$$,
  $$values ('sms.send'::text, 'schedule:tap-ping:2100-01-01T00:01:00Z'::text,
            '{"source": "tap", "schedule": "tap-ping", "due_at": "2100-01-01T00:01:00+00:00"}'::jsonb)$$,
  'its message carries dedupe_key schedule:<name>:<due time> and the schedule in meta');
select results_eq($$select next_run_at, last_run_at, runs from symphony.schedules where name = 'tap-ping'$$,
  $$values ('2100-01-01 00:04+00'::timestamptz, '2100-01-01 00:01+00'::timestamptz, 1::bigint)$$,
  'next_run_at moves past now: missed due times fire once, not once each');
select is(symphony.run_schedules('2100-01-01 00:03:30+00'), 0, 'a second run at the same time fires nothing');

-- One schedule that cannot dispatch records why and does not stop the others.
select symphony.register_kind('tap.tiny', 'default');
insert into symphony.schedules (name, kind, payload, every) values ('tap-tiny', 'tap.tiny', '{"n": 12345678901234567890}', '1 minute');
update symphony.schedules set next_run_at = '2100-01-01 00:04+00' where name in ('tap-tiny', 'tap-ping');
update symphony.kinds set max_payload_bytes = 16 where kind = 'tap.tiny';
select is(symphony.run_schedules('2100-01-01 00:04+00'), 2, 'both due schedules are handled');
select results_eq($$select name, runs, last_error is not null from symphony.schedules where name in ('tap-tiny', 'tap-ping') order by name$$,
  $$values ('tap-ping'::text, 2::bigint, false), ('tap-tiny', 0::bigint, true)$$,
  'the one that failed records last_error; the other fired');

select * from finish();
rollback;
