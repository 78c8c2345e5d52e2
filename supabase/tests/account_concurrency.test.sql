-- A provider account's concurrency (20261209000000_account_concurrency):
-- rate_concurrency learns the limit from a 429's count of requests in flight
-- and keeps the lowest of a burst; each live sidecar's share splits it, the
-- first by id taking what is left over; probe_concurrency raises it a step
-- at most once a second and not within 30 s of a 429; a change notifies the
-- sidecars; and only the owner runs any of it.
begin;
create extension if not exists pgtap;
select plan(20);

insert into symphony.workers (id, hostname, version, queues) values
  ('a', 'h', 'v', '{"sms": 200}'), ('b', 'h', 'v', '{"sms": 200}'), ('c', 'h', 'v', '{"sms": 200}');
update symphony.workers set stopped_at = now() where id = 'c';

select is(symphony._concurrency_share('sms', 'a'), 0, 'no concurrency learned: no share');
select is(symphony.rate_concurrency('sms', 21), 20, 'a 429 that counted 21 in flight, itself included, is a limit of 20');
select is(symphony.rate_concurrency('sms', 24), 20, 'a later 429 of the same burst counting more keeps the lowest');
select is((select (learned_concurrency, learned_per_second)::text from symphony.rate_limits where name = 'sms'), '(20,)',
  'the limit is learned as a concurrency, with no rate');

-- Two live sidecars (c stopped): ten each; 21 leaves one over, for a.
select is(symphony._concurrency_share('sms', 'a'), 10, 'each of two live sidecars runs half');
select is(symphony._concurrency_share('sms', 'b'), 10, 'the other half');
update symphony.rate_limits set learned_concurrency = 21 where name = 'sms';
select is(symphony._concurrency_share('sms', 'a'), 11, 'the first by id takes what the split leaves over');
select is(symphony._concurrency_share('sms', 'b'), 10, 'the next does not');
update symphony.rate_limits set learned_concurrency = 1 where name = 'sms';
select is(symphony._concurrency_share('sms', 'b'), 1, 'at least one each');
select is(symphony._bucket_sidecars('sms'), 2, '_bucket_sidecars counts the same live sidecars');

-- The probe: not within 30 s of a 429, then a twentieth (at least one), once a second.
update symphony.rate_limits set learned_concurrency = 100, concurrency_refused_at = clock_timestamp() - interval '10 seconds',
       concurrency_raised_at = null where name = 'sms';
select is(symphony.probe_concurrency('sms'), 100, 'no raise within 30 seconds of a 429');
update symphony.rate_limits set concurrency_refused_at = clock_timestamp() - interval '40 seconds' where name = 'sms';
select is(symphony.probe_concurrency('sms'), 105, 'then a twentieth');
select is(symphony.probe_concurrency('sms'), 105, 'at most once a second');
update symphony.rate_limits set learned_concurrency = 6, concurrency_raised_at = null where name = 'sms';
select is(symphony.probe_concurrency('sms'), 7, 'at least one');
select is(symphony.probe_concurrency('email'), null, 'nothing learned, nothing raised');

-- An operator's concurrency wins, and the probe leaves the learned one be.
update symphony.rate_limits set concurrency = 4, learned_concurrency = 30, concurrency_raised_at = null,
       concurrency_refused_at = null where name = 'sms';
select is(symphony._concurrency_share('sms', 'a'), 2, 'an operator''s concurrency is what the sidecars split');
select is(symphony.probe_concurrency('sms'), 30, 'the probe does not raise under an operator''s');
select throws_ok($$update symphony.rate_limits set concurrency = 0 where name = 'sms'$$, '23514', null,
  'a concurrency of 0 is refused');

-- Only the owner runs them, as the sidecar does.
select is(has_function_privilege('service_role', 'symphony.rate_concurrency(text, integer)', 'execute')
       or has_function_privilege('authenticated', 'symphony.probe_concurrency(text)', 'execute')
       or has_function_privilege('anon', 'symphony._concurrency_share(text, text)', 'execute')
       or has_function_privilege('anon', 'symphony._revoke_from_api_roles(text)', 'execute'), false,
  'the API roles cannot call them');
select is((select count(*)::int from pg_trigger where tgname = 'rate_limits_concurrency'
            and tgrelid = 'symphony.rate_limits'::regclass), 1, 'a change of the learned concurrency notifies the sidecars');

select * from finish();
rollback;
