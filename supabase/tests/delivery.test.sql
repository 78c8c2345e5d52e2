-- Delivery events from the providers' webhooks: result.delivery moves only towards
-- the more final status, events are recorded once, and hard bounces, complaints and
-- opt-outs reach the suppression list.
begin;
create extension if not exists pgtap;
select plan(16);

insert into symphony.messages (kind, payload) values
  ('email.send', '{"to": "tap.one@example.com", "from": "me@example.com", "subject": "s", "text": "t"}'),
  ('sms.send', '{"to": "+14155550111", "body": "hi"}');
update symphony.messages set state = 'succeeded', finished_at = now(),
       result = case kind when 'email.send' then '{"provider": "postmark", "provider_message_id": "pm-tap-1"}'::jsonb
                          else '{"provider": "twilio", "provider_message_id": "SMtap1"}'::jsonb end
 where payload ->> 'to' in ('tap.one@example.com', '+14155550111');

select is(symphony.record_delivery('postmark', 'pm-tap-1', 'Delivery', 'delivered', 'tap.one@example.com', null,
  '2026-11-01 10:00Z', null, 'd1'), 'recorded', 'a delivery is recorded');
select is(symphony.record_delivery('postmark', 'pm-tap-1', 'Delivery', 'delivered', 'tap.one@example.com', null,
  '2026-11-01 10:00Z', null, 'd1'), 'duplicate', 'the same event again changes nothing');
select is(symphony.record_delivery('postmark', 'pm-tap-1', 'SoftBounce', 'delayed', 'tap.one@example.com', 'mailbox full',
  '2026-11-01 09:00Z', null, 'b1'), 'superseded', 'an earlier, less final event arriving late is kept in history only');
select is((select result -> 'delivery' ->> 'status' from symphony.messages where result ->> 'provider_message_id' = 'pm-tap-1'),
  'delivered', 'result.delivery still says delivered');
select is((select count(*)::int from symphony.delivery_events e join symphony.messages m on m.id = e.message_id
            where m.result ->> 'provider_message_id' = 'pm-tap-1'), 2, 'history holds both distinct events');

select is(symphony.record_delivery('postmark', 'pm-tap-1', 'SpamComplaint', 'complained', 'tap.one@example.com', null,
  '2026-11-01 12:00Z', 'complained', 'c1'), 'recorded', 'a complaint is recorded');
select results_eq($$select result -> 'delivery' ->> 'status', result -> 'delivery' ->> 'event', result ->> 'provider_message_id'
                      from symphony.messages where result ->> 'provider_message_id' = 'pm-tap-1'$$,
  $$values ('complained', 'SpamComplaint', 'pm-tap-1')$$, 'result.delivery says complained; the rest of the result is kept');
select is((select reason from symphony.suppressions where channel = 'email' and address = 'tap.one@example.com'),
  'complained', 'a complaint suppresses the address');

select is(symphony.record_delivery('sendgrid', 'sg-unknown', 'bounce', 'bounced', 'Tap.Two@Example.com', '550 no such user',
  now(), 'bounced', 'u1'), 'unknown', 'a bounce for a message Symphony never sent is answered "unknown"');
select is((select reason from symphony.suppressions where channel = 'email' and address = 'tap.two@example.com'),
  'bounced', '...and still suppresses the address, normalized');
select is(symphony.record_delivery('sendgrid', 'sg-unknown', 'bounce', 'bounced', 'not an address', 'x', now(), 'bounced', 'u2'),
  'unknown', 'a recipient that is no address is not suppressed, and does not fail');

select is(symphony.record_delivery('twilio', 'SMtap1', 'undelivered', 'undelivered', '+14155550111', '21610',
  now(), 'stop', 't1'), 'recorded', 'an SMS undelivered because the number opted out is recorded');
select is((select reason from symphony.suppressions where channel = 'sms' and address = '+14155550111'), 'stop',
  'the number is suppressed with reason stop');
select is(symphony.record_delivery('twilio', null, 'START', 'opt_in', '+1 415 555 0111', null, now(), null, 'in1'), 'opt_in',
  'an opt-in (START) is recorded');
select is_empty($$select 1 from symphony.suppressions where channel = 'sms' and address = '+14155550111'$$,
  'START lifts a stop suppression');

set local role service_role;
select throws_ok($$select symphony.record_delivery('twilio', null, 'STOP', 'opt_out', '+14155550111', null, now(), 'stop', 'x')$$,
  '42501', null, 'service_role may not record delivery events (the sidecar does)');
reset role;

select * from finish();
rollback;
