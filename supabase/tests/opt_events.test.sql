-- Opt-outs and opt-ins change the suppression list in event order, once: a copy of an
-- event changes nothing, and an older event never overrides a newer one.
begin;
create extension if not exists pgtap;
select plan(14);

create function pg_temp.sms_stopped(number text) returns boolean language sql as $$
  select exists (select 1 from symphony.suppressions where channel = 'sms' and address = number and reason = 'stop')
$$;

-- The field report: STOP, START, STOP, then the first START posted again.
select is(symphony.record_delivery('twilio', null, 'inbound STOP', 'opt_out', '+14155550121', null,
  '2026-12-01 10:00Z', 'stop', 'SMa|inbound'), 'opt_out', 'STOP');
select is(symphony.record_delivery('twilio', null, 'inbound START', 'opt_in', '+14155550121', null,
  '2026-12-01 10:01Z', null, 'SMb|inbound'), 'opt_in', 'START');
select ok(not pg_temp.sms_stopped('+14155550121'), 'START lifts the stop');
select is(symphony.record_delivery('twilio', null, 'inbound STOP', 'opt_out', '+14155550121', null,
  '2026-12-01 10:02Z', 'stop', 'SMc|inbound'), 'opt_out', 'STOP again');
select is(symphony.record_delivery('twilio', null, 'inbound START', 'opt_in', '+14155550121', null,
  '2026-12-01 10:05Z', null, 'SMb|inbound'), 'duplicate', 'the first START replayed (received later) is a duplicate');
select ok(pg_temp.sms_stopped('+14155550121'), '...and the number stays stopped');

-- An event older than the latest one for the address is kept but changes nothing.
select is(symphony.record_delivery('twilio', null, 'inbound START', 'opt_in', '+14155550121', null,
  '2026-12-01 10:01:30Z', null, 'SMd|inbound'), 'superseded', 'a START older than the latest STOP is superseded');
select ok(pg_temp.sms_stopped('+14155550121'), '...and the number stays stopped');
select is(symphony.record_delivery('twilio', null, 'inbound START', 'opt_in', '+1 415 555 0121', null,
  '2026-12-01 10:03Z', null, 'SMe|inbound'), 'opt_in', 'a newer START applies (the address normalized)');
select is(symphony.record_delivery('twilio', null, 'inbound STOP', 'opt_out', '+14155550121', null,
  '2026-12-01 10:02:30Z', 'stop', 'SMf|inbound'), 'superseded', 'a late STOP older than that START is superseded');
select ok(not pg_temp.sms_stopped('+14155550121'), '...and the number may receive');

-- A status callback saying the recipient opted out (21610) is a consent event too: its copy,
-- posted after a START, does not stop the number again.
insert into symphony.messages (kind, payload) values ('sms.send', '{"to": "+14155550122", "body": "hi"}');
update symphony.messages set state = 'succeeded', finished_at = now(),
       result = '{"provider": "twilio", "provider_message_id": "SMopt1"}'
 where payload ->> 'to' = '+14155550122';
select is(symphony.record_delivery('twilio', 'SMopt1', 'undelivered', 'undelivered', '+14155550122', '21610',
  '2026-12-01 11:00Z', 'stop', 'SMopt1|undelivered|21610'), 'recorded', 'a 21610 callback is recorded and stops the number');
select is(symphony.record_delivery('twilio', null, 'inbound START', 'opt_in', '+14155550122', null,
  '2026-12-01 11:01Z', null, 'SMg|inbound'), 'opt_in', 'START');
select is(symphony.record_delivery('twilio', 'SMopt1', 'undelivered', 'undelivered', '+14155550122', '21610',
  '2026-12-01 11:02Z', 'stop', 'SMopt1|undelivered|21610') || ':' || pg_temp.sms_stopped('+14155550122')::text,
  'duplicate:false', 'the callback replayed changes nothing: the number may receive');

select * from finish();
rollback;
