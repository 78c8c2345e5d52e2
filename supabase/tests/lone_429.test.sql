-- 429s alone (20261207070000_lone_429_bounds_the_search): rate_stray keeps
-- the rate and the pause as they were, but the rate refused when the limit is
-- read within three seconds is no higher than the rate of those 429s, and
-- three close together start a trial at 5 % less: 429s that stop there were
-- the limit, 429s that go on are ignored for five minutes.
begin;
create extension if not exists pgtap;
select plan(23);

insert into symphony.workers (id, hostname, version, queues) values ('a', 'h', 'v', '{"email": 16}');

-- An unpaced bucket has no rate to remember: its first 429 is a guess.
select symphony.rate_stray('email');
select is((select (stray_at, stray_rate, strays)::text from symphony.rate_limits where name = 'email'), '(,,0)',
  'a 429 alone on an unpaced bucket records nothing');

-- Climbing past a first guess of 100: at 102.5 a 429 alone.
update symphony.rate_limits set learned_per_second = 102.5, guessed_rate = 100, accepted_rate = 98,
       refused_rate = null, refused_at = clock_timestamp() - interval '30 seconds', paused_until = null,
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select symphony.rate_stray('email');
select is((select (learned_per_second, stray_rate, strays, paused_until)::text from symphony.rate_limits where name = 'email'),
  '(102.5,102.5,1,)', 'it keeps the rate and the pause, and remembers the rate in force');
select ok((select stray_at > clock_timestamp() - interval '1 second' from symphony.rate_limits where name = 'email'),
  'and when');

-- A second 429 alone within three seconds at a lower rate: the lowest counts;
-- at a higher one, the lower stays.
update symphony.rate_limits set learned_per_second = 101, stray_at = clock_timestamp() - interval '1 second', strays = 0
 where name = 'email';
select symphony.rate_stray('email');
update symphony.rate_limits set learned_per_second = 110 where name = 'email';
select symphony.rate_stray('email');
select is((select (stray_rate, strays, trial_at)::text from symphony.rate_limits where name = 'email'), '(101,2,)',
  'the lowest rate of the 429s alone of the last three seconds; two are no trial');

-- The limit read at 110 (two 429s in a row), a second after those: the rate
-- refused is 101, not 110, and the rate comes back below it.
update symphony.rate_limits set accepted_rate = 100, refused_at = clock_timestamp() - interval '30 seconds',
       paused_until = null, starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 55, interval '100 ms');
select is((select (refused_rate, learned_per_second)::text from symphony.rate_limits where name = 'email'),
  '(101.000,95.950)', 'the limit read: refused at the rate of the 429 alone, back to 0.95 of it');

-- The same read with the 429 alone four seconds old: refused at 110.
update symphony.rate_limits set learned_per_second = 110, accepted_rate = 100, refused_rate = 120,
       refused_at = clock_timestamp() - interval '30 seconds', paused_until = null,
       stray_at = clock_timestamp() - interval '4 seconds', starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 55, interval '100 ms');
select is((select (refused_rate, learned_per_second)::text from symphony.rate_limits where name = 'email'),
  '(110.000,100.000)', 'an older 429 alone bounds nothing');

-- Three seconds on, a 429 alone starts a new lowest rate.
update symphony.rate_limits set learned_per_second = 105, stray_rate = 90,
       stray_at = clock_timestamp() - interval '3.5 seconds'
 where name = 'email';
select symphony.rate_stray('email');
select is((select (stray_rate, strays)::text from symphony.rate_limits where name = 'email'), '(105,1)',
  'after three seconds the rate in force is remembered afresh');

-- Held at 100.8 against a limit of 100: a 429 alone about once a window.
-- The third, each less than 2 s after the last, starts a trial.
update symphony.rate_limits set learned_per_second = 100.8, refused_rate = 106, accepted_rate = 98,
       refused_at = clock_timestamp() - interval '60 seconds', paused_until = null, probe_hold = interval '20 seconds', strays = 2,
       stray_at = clock_timestamp() - interval '1 second'
 where name = 'email';
select symphony.rate_stray('email');
select is((select (learned_per_second, trial_rate, strays, paused_until)::text from symphony.rate_limits where name = 'email'),
  '(95.760,100.8,0,)', 'three 429s alone close together: a trial at 5 % less, no pause');
update symphony.rate_limits set raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(),
       accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 95.76), 95.760::numeric, 'no probe raises the rate during a trial');

-- One more 429 alone in the trial changes nothing yet.
select symphony.rate_stray('email');
select is((select (learned_per_second, strays)::text from symphony.rate_limits where name = 'email'), '(95.760,1)',
  'one 429 alone within the trial is counted');
-- Five seconds without another: they were the limit.
update symphony.rate_limits set trial_at = clock_timestamp() - interval '5.1 seconds',
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 95.76), 95.760::numeric, 'the trial over, the rate stays');
select is((select (refused_rate, accepted_rate, trial_at, probe_hold)::text from symphony.rate_limits where name = 'email'),
  '(100.8,95.760,,00:00:10)', 'the rate before it is the refused bound, the one in force the accepted one; the short hold');
select ok((select refused_at > clock_timestamp() - interval '1 second' from symphony.rate_limits where name = 'email'),
  'and the search holds from now, as after a 429');

-- A trial no probe ended (the bucket held nothing back) ends at the next 429 alone.
update symphony.rate_limits set learned_per_second = 95, refused_rate = null, trial_rate = 100,
       trial_at = clock_timestamp() - interval '6 seconds', stray_at = clock_timestamp() - interval '5 seconds', strays = 1
 where name = 'email';
select symphony.rate_stray('email');
select is((select (refused_rate, trial_at, strays)::text from symphony.rate_limits where name = 'email'),
  '(100,,1)', 'a trial past its three seconds ends at the next 429 alone, which counts afresh');

-- A provider refusing at random: the 429s go on at the lower rate.
update symphony.rate_limits set learned_per_second = 40, refused_rate = 45, strays = 2,
       stray_at = clock_timestamp() - interval '1 second', trial_at = null
 where name = 'email';
select symphony.rate_stray('email');  -- the trial, at 38
select symphony.rate_stray('email');
select symphony.rate_stray('email');
select is((select (learned_per_second, trial_at is not null, strays)::text from symphony.rate_limits where name = 'email'),
  '(38.000,t,2)', 'two 429s alone during the trial are counted; nothing is decided before its end');
update symphony.rate_limits set trial_at = clock_timestamp() - interval '5.1 seconds' where name = 'email';
select symphony.rate_stray('email');
select is((select (learned_per_second, trial_at, strays, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(40,,0,45)', 'at its end: not the limit, the rate comes back and no bound moves');
select ok((select noise_until between clock_timestamp() + interval '299 seconds' and clock_timestamp() + interval '301 seconds'
             from symphony.rate_limits where name = 'email'),
  'and 429s alone are ignored for five minutes');
update symphony.rate_limits set stray_at = null, strays = 0 where name = 'email';
select symphony.rate_stray('email');
select is((select (stray_at, strays)::text from symphony.rate_limits where name = 'email'), '(,0)',
  'meanwhile a 429 alone records nothing');

-- A trial at a few requests a second lasts as long as 100 of them take (at
-- most 30 s): at 10/s, ten seconds.
update symphony.rate_limits set learned_per_second = 9.5, trial_rate = 10, strays = 0, noise_until = null,
       trial_at = clock_timestamp() - interval '6 seconds'
 where name = 'email';
select symphony.probe_rate_limit('email', 'a', 0);
select ok((select trial_at is not null from symphony.rate_limits where name = 'email'), 'at 10/s a trial goes on after 6 s');
update symphony.rate_limits set trial_at = clock_timestamp() - interval '10.5 seconds' where name = 'email';
select symphony.probe_rate_limit('email', 'a', 0);
select is((select (trial_at, refused_rate)::text from symphony.rate_limits where name = 'email'), '(,10)',
  'and ends after 10 s');

-- A limit read during a trial (two 429s in a row: a rate far above the
-- limit goes on drawing 429s at 5 % less) ends it with no verdict.
update symphony.rate_limits set learned_per_second = 120, refused_rate = 125, accepted_rate = 100, strays = 2,
       stray_at = clock_timestamp() - interval '1 second', trial_at = null, noise_until = null,
       refused_at = clock_timestamp() - interval '30 seconds', paused_until = null, starved_at = clock_timestamp(),
       accepted_counts = '{}'
 where name = 'email';
select symphony.rate_stray('email');  -- the trial, at 114
select symphony.rate_stray('email');
select symphony.rate_stray('email');
select symphony.rate_refused('email', 'a', 55, interval '100 ms');
select is((select (trial_at, noise_until, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(,,114.000)', 'a limit read ends the trial, with the rate in force as the refused bound');

-- An operator's rate: nothing is learned, a 429 alone included.
update symphony.rate_limits set per_second = 50, noise_until = null, stray_at = null, strays = 0 where name = 'email';
select symphony.rate_stray('email');
select is((select (stray_at, strays)::text from symphony.rate_limits where name = 'email'), '(,0)',
  'an operator''s per_second: a 429 alone records nothing');

select throws_ok($$update symphony.rate_limits set stray_rate = 0 where name = 'email'$$, '23514', null,
  'the rate remembered is positive');

select * from finish();
rollback;
