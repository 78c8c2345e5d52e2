-- Rate limits learned from the provider (20261206150000_learned_rate_limits,
-- 20261206211000_learned_rate_search): a stated limit becomes the bucket's
-- rate less the margin, the operator's per_second wins, a 429 lowers the rate
-- once a second, and probes search between the rate refused and the rate
-- accepted, only while the sidecars reach the rate.
begin;
create extension if not exists pgtap;
select plan(20);

select is(symphony.learn_rate_limit('email', 100, 'ratelimit-limit header'), true, 'a stated limit is recorded');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 97.000,
  'at 0.97 of the stated rate');
select is(symphony.learn_rate_limit('email', 100.5, 'ratelimit-limit header'), false,
  'the same statement again changes nothing');
select is(symphony.learn_rate_limit('email', 2, 'ratelimit-limit header'), true, 'a new statement replaces it');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 1.000,
  'at least one request a second below a small limit');

select symphony.learn_rate_limit('email', 100, 'ratelimit-limit header');
update symphony.rate_limits set tokens = 0, refilled_at = clock_timestamp() - interval '10 seconds' where name = 'email';
select is((select granted from symphony.take_tokens('email', 500)), 3,
  'a learned bucket grants 3 % of a second''s tokens at once');
select cmp_ok((select wait_ms from symphony.take_tokens('email', 500)), '>', 0,
  'a claim bounded by the tokens is told when the next one comes');
select is((select coalesce(starved_at > clock_timestamp() - interval '1 second', false) from symphony.rate_limits where name = 'email'), true,
  'and the bucket records that it held the claim back');

update symphony.rate_limits set per_second = 5, burst = 1, tokens = 0, refilled_at = clock_timestamp() - interval '10 seconds'
 where name = 'email';
select is((select granted from symphony.take_tokens('email', 500)), 1, 'the operator''s rate and burst win');

update symphony.rate_limits set per_second = null, learned_at = clock_timestamp() - interval '5 seconds' where name = 'email';
select symphony.rate_refused('email', 200, interval '100 ms');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 87.300,
  'a 429 lowers the rate to 0.9 of what was in force');
select symphony.rate_refused('email', 200, interval '100 ms');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 87.300,
  'once a second, however many 429s');

select is((select learned_per_second from symphony.rate_limits where name = 'sms'), null, 'sms has learned nothing');
update symphony.rate_limits set starved_at = clock_timestamp() where name = 'sms';
select symphony.rate_refused('sms', 40, interval '100 ms');
select is((select learned_per_second from symphony.rate_limits where name = 'sms'), 32.000,
  'a first 429 starts the search at 0.8 of what was accepted in the last second (one sidecar)');
select is((select (accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'sms'), '(20.000,40.000)',
  'between half of that and all of it');

-- Probes: a rate held for a second without a 429 is accepted; the rate goes
-- halfway to the refused one, and holds at 0.97 of it.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds',
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp() where name = 'sms';
select is(symphony.probe_rate_limit('sms', 10), 32.000::numeric,
  'no probe while the sidecars do not reach the rate');
select is(symphony.probe_rate_limit('sms', 32), 36.000::numeric, 'a probe goes halfway to the refused rate');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds' where name = 'sms';
select is(symphony.probe_rate_limit('sms', 36), 38.000::numeric, 'up to 0.95 of the refused rate');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds' where name = 'sms';
select is(symphony.probe_rate_limit('sms', 38), 38.000::numeric, 'where it holds');
-- A 429 at 38 while the sidecars reach it, with 37 accepted: the refused
-- bound falls to 38, and the rate goes halfway between the bounds.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(),
       accepted_rate = 37 where name = 'sms';
select symphony.rate_refused('sms', 19, interval '100 ms');
select is((select (learned_per_second, accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'sms'),
  '(37.500,37.000,38.000)', 'a 429 at the held rate: halfway between the rate accepted and the one refused');
update symphony.rate_limits set tokens = 0, paused_until = null, learned_per_second = 96, refilled_at = clock_timestamp() - interval '10 seconds' where name = 'sms';
select is((select granted from symphony.take_tokens('sms', 500)), 3,
  'a bucket learned from 429s grants 3 % of a second''s tokens at once too');

select * from finish();
rollback;
