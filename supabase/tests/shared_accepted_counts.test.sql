-- Rate limits learned from 429s with two sidecars (20261207020000_shared_accepted_counts):
-- the guess at the limit is the sum of every sidecar's count, a second
-- sidecar's 429 corrects the first guess, a 429 while paced above the limit
-- bounds it at what was accepted, and a rate learned low recovers in seconds
-- after the hold.
begin;
create extension if not exists pgtap;
select plan(16);

-- Two live sidecars serving the email queue.
insert into symphony.workers (id, hostname, version, queues)
values ('a', 'h', 'v', '{"email": 16}'), ('b', 'h', 'v', '{"email": 16}');

-- The first 429 of an unpaced bucket: sidecar a had 17 accepted in the last
-- second, b has not said yet, so a's count stands for both.
select symphony.rate_refused('email', 'a', 17, interval '1 second');
select is((select (learned_per_second, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(22.100,)', 'a first 429 guesses from the sidecars that said, scaled up to the live ones, and bounds nothing');
-- b's 429 of the same moment: it had 83 accepted.
select symphony.rate_refused('email', 'b', 83, interval '1 second');
select is((select (learned_per_second, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(65.000,)', 'the second sidecar''s count corrects the first guess: 0.65 of their sum');
-- a again, once its requests in flight answered: 21 of them were accepted.
select symphony.rate_refused('email', 'a', 21, interval '0');
select is((select (learned_per_second, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(67.600,)', 'a sidecar''s later count raises its first');
select is((select jsonb_object_keys(accepted_counts) from symphony.rate_limits where name = 'email' order by 1 limit 1), 'a',
  'each sidecar''s count is kept in the bucket');
select is((select paused_until > clock_timestamp() + interval '0.5 second' from symphony.rate_limits where name = 'email'), true,
  'and the bucket is paused for every sidecar');

-- Probes count every sidecar: 40 + 40 of a rate of 67.6 reach it; 40 + 0 do
-- not.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds',
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(),
       accepted_counts = jsonb_build_object('b', jsonb_build_object('n', 0, 'at', extract(epoch from clock_timestamp())))
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 40), 67.600::numeric,
  'one sidecar''s count does not reach the rate when the other had none accepted: no raise');
update symphony.rate_limits set accepted_counts = '{}' where name = 'email';
select symphony.probe_rate_limit('email', 'a', 40);
select is(symphony.probe_rate_limit('email', 'b', 40), 77.740::numeric,
  'both sidecars'' counts together do: 15 % more while nothing paced was refused, up to 0.95 of the first guess (104)');
select is((select accepted_rate from symphony.rate_limits where name = 'email'), 67.600,
  'and the rate held is the lower bound');

-- Paced at 150/s against a limit of 100: each sidecar had 50 accepted.
update symphony.rate_limits set learned_per_second = 150, refused_rate = null, accepted_rate = null,
       refused_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp() - interval '5 seconds', paused_until = null,
       accepted_counts = jsonb_build_object('b', jsonb_build_object('n', 50, 'at', extract(epoch from clock_timestamp())))
 where name = 'email';
select symphony.rate_refused('email', 'a', 50, interval '100 ms');
select is((select (learned_per_second, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(90.000,100.000)', 'a 429 while paced above the limit bounds it at what was accepted, not at the rate in force');

-- The same 429 in the second after a pause: the counts are of the 0.8 s the
-- bucket sent in, 97.5 per second.
update symphony.rate_limits set learned_per_second = 123, refused_rate = null, accepted_rate = null,
       refused_at = clock_timestamp() - interval '1.2 seconds', paused_until = clock_timestamp() - interval '0.8 seconds',
       starved_at = clock_timestamp() - interval '5 seconds',
       accepted_counts = jsonb_build_object('b', jsonb_build_object('n', 39, 'at', extract(epoch from clock_timestamp())))
 where name = 'email';
select symphony.rate_refused('email', 'a', 39, interval '100 ms');
-- (97.5 with no time between the two statements; a busy machine's moments
-- between them count as sending time, so only: more than the 78 counted.)
select ok((select refused_rate > 80 and refused_rate <= 97.6 and abs(learned_per_second - 0.9 * refused_rate) < 0.01
              from symphony.rate_limits where name = 'email'),
  'after a pause, what was accepted counts per second of sending');
-- A 429 just after a rate was accepted close below it: back to the rate
-- accepted, not halfway.
update symphony.rate_limits set learned_per_second = 110, refused_rate = 121, accepted_rate = 100,
       refused_at = clock_timestamp() - interval '5 seconds', paused_until = null, starved_at = clock_timestamp(),
       accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 52, interval '100 ms');
select is((select (learned_per_second, accepted_rate, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(100.000,100.000,110.000)', 'a 429 a tenth above a rate accepted goes back to the rate accepted');

-- Recovery: a rate learned at 19 (the provider allowed 20) holds for 10
-- seconds after the 429, then rises 1 % a second to 20, and above it by a
-- larger share each second.
update symphony.rate_limits set learned_per_second = 19, refused_rate = 20, accepted_rate = 18,
       refused_at = clock_timestamp() - interval '9.5 seconds', raised_at = clock_timestamp() - interval '2 seconds',
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 19), 19.000::numeric, 'held within 10 seconds of the 429');
update symphony.rate_limits set refused_at = clock_timestamp() - interval '10.5 seconds',
       raised_at = clock_timestamp() - interval '2 seconds' where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 19), 19.190::numeric, 'then raised by 1 %');
-- A rate at 0.95 of the refused one as stored (10.296 of 10.838, whose 0.95
-- is 10.2961) is at it, not below it: after the hold it rises. It was set to
-- 10.296 again every second, and a sidecar test waited 90 s for nothing.
update symphony.rate_limits set learned_per_second = 10.296, refused_rate = 10.838, accepted_rate = 10.296,
       refused_at = clock_timestamp() - interval '20 seconds', raised_at = clock_timestamp() - interval '2 seconds',
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 10.296), 10.399::numeric,
  'a rate rounded to 0.95 of the refused one rises by 1 % after the hold');
update symphony.rate_limits set learned_per_second = 19.19, refused_rate = 20, accepted_rate = 18,
       refused_at = clock_timestamp() - interval '10.5 seconds', raised_at = clock_timestamp() - interval '2 seconds',
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
-- The provider now allows 80: probes a second apart, the sidecars reaching
-- each rate.
create temporary table probes (n integer, rate numeric);
do $$
declare
  rate numeric := 19.19;
  n integer := 1;
begin
  while rate < 76 and n < 30 loop
    update symphony.rate_limits set refused_at = clock_timestamp() - make_interval(secs => 10.5 + n),
           raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp()
     where name = 'email';
    rate := symphony.probe_rate_limit('email', 'a', rate);
    n := n + 1;
  end loop;
  insert into probes values (n, rate);
end $$;
select cmp_ok((select n from probes), '<=', 20,
  'a rate learned at a quarter of what the provider now allows is back within 20 seconds after the hold');
select cmp_ok((select rate from probes), '<=', 76 * 1.16, 'by steps of 16 % at most');

select * from finish();
rollback;
