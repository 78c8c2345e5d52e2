-- Suppression list, quiet-hours validation at dispatch, and what service_role may
-- do with campaigns, drips, schedules and suppressions.
begin;
create extension if not exists pgtap;
select plan(19);

-- ---------------------------------------------------------------------------
-- Suppressions are stored normalized, one row per address.
-- ---------------------------------------------------------------------------
select is(symphony.normalize_address('email', ' Ada Lovelace <Ada@Example.COM> '), 'ada@example.com',
  'an email address is stored bare and lower-case');
select is(symphony.normalize_address('sms', '+1 (415) 555-0100'), '+14155550100', 'a phone number is stored as E.164');
select is(symphony.normalize_address('sms', '4155550100'), null, 'a number without a country code is not an address');
select ok(symphony.suppress('email', 'Tap.User@Example.com', 'bounced', 'webhook:resend'), 'suppress() adds an address');
select ok(not symphony.suppress('email', 'tap.user@example.com', 'complained', 'webhook:resend'), 'a second suppress() updates it');
select results_eq($$select address, reason, source from symphony.suppressions where address = 'tap.user@example.com'$$,
  $$values ('tap.user@example.com'::text, 'complained'::text, 'webhook:resend'::text)$$,
  'one row per address, with the latest reason and source');
select throws_like($$insert into symphony.suppressions (channel, address, reason) values ('sms', 'call me', 'stop')$$,
  '%suppression address ''call me'' is not an E.164 phone number%', 'a bad address is refused');
select throws_ok($$insert into symphony.suppressions (channel, address, reason) values ('email', 'a@example.com', 'annoyed')$$,
  '23514', null, 'reasons are a fixed set');

-- ---------------------------------------------------------------------------
-- meta.quiet_hours is checked at dispatch.
-- ---------------------------------------------------------------------------
select lives_ok($$select symphony.send_sms('+14155550100', 'hi', null, '{"meta": {"quiet_hours": {"time_zone": "America/Chicago", "from": "09:30", "until": "20:00"}}}')$$,
  'an sms.send with quiet hours is accepted');
select throws_like($$select symphony.send_sms('+14155550100', 'hi', null, '{"meta": {"quiet_hours": {"time_zone": "Mars/Olympus"}}}')$$,
  '%meta "quiet_hours.time_zone" must be an IANA time zone%', 'an unknown time zone is refused, naming the field');
select throws_like($$select symphony.send_sms('+14155550100', 'hi', null, '{"meta": {"quiet_hours": {"time_zone": "UTC", "until": "9pm"}}}')$$,
  '%meta "quiet_hours.until" must be a time of day HH:MM%', 'a bad time is refused, naming the field');
select throws_like($$select symphony.send_email('a@example.com', 'b@example.com', 's', 't', null, '{"meta": {"quiet_hours": {"time_zone": "UTC"}}}')$$,
  '%quiet_hours" applies to sms.send only%', 'quiet hours on an email are refused');

-- ---------------------------------------------------------------------------
-- service_role manages the new tables; states change only through functions.
-- ---------------------------------------------------------------------------
set local role service_role;
select lives_ok($$insert into symphony.campaigns (name, "from", subject, "text") values ('tap-grants', 'a@example.com', 's', 't')$$,
  'service_role: creates a campaign');
select lives_ok($$insert into symphony.campaign_recipients (campaign_id, email) select id, 'x@example.com' from symphony.campaigns where name = 'tap-grants'$$,
  'service_role: adds a recipient');
select lives_ok($$select symphony.start_campaign(id) from symphony.campaigns where name = 'tap-grants'$$,
  'service_role: starts a campaign through start_campaign');
select throws_ok($$update symphony.campaigns set status = 'completed' where name = 'tap-grants'$$,
  '42501', null, 'service_role: cannot set a campaign''s status directly');
select throws_ok($$update symphony.campaign_recipients set status = 'queued'$$,
  '42501', null, 'service_role: cannot set a recipient''s status directly');
select lives_ok($$select symphony.suppress('sms', '+14155550177', 'stop')$$, 'service_role: records a suppression');
reset role;

set local role authenticated;
select throws_ok($$select * from symphony.suppressions$$, '42501', null, 'authenticated: reads no suppression');
reset role;

select * from finish();
rollback;
