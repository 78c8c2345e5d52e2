-- Rate limits learned from the provider (20261206150000_learned_rate_limits,
-- 20261207020000_shared_accepted_counts): a stated limit becomes the bucket's
-- rate less the margin, the operator's per_second wins, a 429 lowers the rate
-- once a second, and probes search between the rate refused and the rate
-- accepted, only while the sidecars reach the rate. Here one sidecar ('w1')
-- reports; shared_accepted_counts.test.sql has two.
begin;
create extension if not exists pgtap;
select plan(24);

select is(symphony.learn_rate_limit('email', 100, 'ratelimit-limit header'), true, 'a stated limit is recorded');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 95.000,
  'at 0.95 of the stated rate');
select is(symphony.learn_rate_limit('email', 100.5, 'ratelimit-limit header'), false,
  'the same statement again changes nothing');
select is(symphony.learn_rate_limit('email', 2, 'ratelimit-limit header'), true, 'a new statement replaces it');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 1.000,
  'at least one request a second below a small limit');

select symphony.learn_rate_limit('email', 100, 'ratelimit-limit header');
update symphony.rate_limits set tokens = 0, refilled_at = clock_timestamp() - interval '10 seconds' where name = 'email';
select is((select granted from symphony.take_tokens('email', 500)), 4,
  'a learned bucket grants 5 % of a second''s tokens at once');
select cmp_ok((select wait_ms from symphony.take_tokens('email', 500)), '>', 5,
  'a claim bounded by the tokens is told when the next claim''s two are due');
select is((select coalesce(starved_at > clock_timestamp() - interval '1 second', false) from symphony.rate_limits where name = 'email'), true,
  'and the bucket records that it held the claim back');

update symphony.rate_limits set per_second = 5, burst = 1, tokens = 0, refilled_at = clock_timestamp() - interval '10 seconds'
 where name = 'email';
select is((select granted from symphony.take_tokens('email', 500)), 1, 'the operator''s rate and burst win');

update symphony.rate_limits set per_second = null, learned_at = clock_timestamp() - interval '5 seconds' where name = 'email';
select symphony.rate_refused('email', 'w1', 200, interval '100 ms');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 85.500,
  'a 429 lowers the rate to 0.9 of what was in force');
select symphony.rate_refused('email', 'w1', 200, interval '100 ms');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 85.500,
  'once a second, however many 429s');

select is((select learned_per_second from symphony.rate_limits where name = 'sms'), null, 'sms has learned nothing');
update symphony.rate_limits set starved_at = clock_timestamp() where name = 'sms';
select symphony.rate_refused('sms', 'w1', 40, interval '100 ms');
select is((select learned_per_second from symphony.rate_limits where name = 'sms'), 26.000,
  'a first 429 starts the search at 0.65 of what was accepted in the last second');
select is((select (accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'sms'), '(,)',
  'a guess that bounds nothing');

-- Probes: a rate held for a second without a 429 is accepted; the rate
-- rises by 15 % while nothing paced was refused, then goes halfway to the
-- refused one, and holds at 0.95 of it.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds', refused_rate = null, learned_per_second = 24,
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp() where name = 'sms';
select is(symphony.probe_rate_limit('sms', 'w1', 10), 24.000::numeric,
  'no probe while the sidecars do not reach the rate');
select is(symphony.probe_rate_limit('sms', 'w1', 24), 27.600::numeric, 'a probe raises it by 15 % while nothing was refused');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds', learned_per_second = 24,
       refused_rate = 40 where name = 'sms';
select is(symphony.probe_rate_limit('sms', 'w1', 24), 28.800::numeric, 'by a fifth at most below a refused rate');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds', learned_per_second = 32 where name = 'sms';
select is(symphony.probe_rate_limit('sms', 'w1', 32), 36.000::numeric, 'and halfway to the refused rate at most');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds' where name = 'sms';
select is(symphony.probe_rate_limit('sms', 'w1', 36), 38.000::numeric, 'up to 0.95 of the refused rate');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds' where name = 'sms';
select is(symphony.probe_rate_limit('sms', 'w1', 38), 38.000::numeric, 'where it holds');
-- A 429 at 38 while the sidecars reach it, with 30 accepted: the refused
-- bound falls to 38, and the rate goes halfway between the bounds.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(),
       accepted_rate = 30 where name = 'sms';
select symphony.rate_refused('sms', 'w1', 38, interval '100 ms');
select is((select (learned_per_second, accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'sms'),
  '(34.000,30.000,38.000)', 'a 429 at the held rate: halfway between the rate accepted and the one refused');
-- An accepted rate just below the refused one: 0.95 of the refused rate.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(),
       accepted_rate = 33 where name = 'sms';
select symphony.rate_refused('sms', 'w1', 34, interval '100 ms');
select is((select (learned_per_second, accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'sms'),
  '(32.300,33.000,34.000)', 'a 429 just above a rate accepted: 0.95 of the refused rate, where it holds');
-- A 429 while the sidecars sent less than the rate: their count (here 1/s)
-- is the guess, but one 429 at most halves the refused bound.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds', paused_until = null,
       starved_at = clock_timestamp() - interval '5 seconds' where name = 'sms';
select symphony.rate_refused('sms', 'w1', 1, interval '100 ms');
select is((select (learned_per_second, accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'sms'),
  '(14.535,,16.150)', 'a 429 below the rate: at most half the rate refused, and 0.9 of that in force');
update symphony.rate_limits set tokens = 0, paused_until = null, learned_per_second = 96, refilled_at = clock_timestamp() - interval '10 seconds' where name = 'sms';
select is((select granted from symphony.take_tokens('sms', 500)), 4,
  'a bucket learned from 429s grants 5 % of a second''s tokens at once too');

select * from finish();
rollback;
