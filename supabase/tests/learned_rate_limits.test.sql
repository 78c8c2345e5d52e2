-- Rate limits learned from the provider (20261206150000_learned_rate_limits):
-- a stated limit becomes the bucket's rate less the margin, the operator's
-- per_second wins, a 429 lowers the rate once a second, and a probe raises
-- it only while the sidecars reach it.
begin;
create extension if not exists pgtap;
select plan(13);

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
select is((select learned_per_second from symphony.rate_limits where name = 'sms'), 20.000,
  'a first 429 guesses half of what was accepted in the last second (one sidecar)');

select * from finish();
rollback;
