-- The rate search's hold after a 429 (20261207050000_rate_search_hold_doubles):
-- each 429 that finds a provider's limit where it was doubles the hold, up
-- to 40 seconds; a 429 anywhere else sets it back to 10 seconds. And the
-- climb after the first guess: 15 % a second up to 0.95 of it, then steps
-- that about double.
begin;
create extension if not exists pgtap;
select plan(16);

insert into symphony.workers (id, hostname, version, queues) values ('a', 'h', 'v', '{"email": 16}');

select is((select probe_hold from symphony.rate_limits where name = 'email'), interval '10 seconds',
  'a bucket starts with the short hold');

-- The first 429 of an unpaced bucket guesses; it finds no limit where it was.
select symphony.rate_refused('email', 'a', 100, interval '1 second');
select is((select probe_hold from symphony.rate_limits where name = 'email'), interval '10 seconds',
  'the first guess keeps the short hold');
select is((select (learned_per_second, guessed_rate)::text from symphony.rate_limits where name = 'email'),
  '(65.000,100.000)', 'it starts the rate at 0.65 of what was accepted, and keeps that guess');

-- Probes a second apart while nothing paced is refused, the sidecars
-- reaching the rate each time.
create temporary table climb (step integer, rate numeric);
do $$
declare
  r numeric := 65;
begin
  for n in 1..8 loop
    update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds',
           raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(), accepted_counts = '{}'
     where name = 'email';
    r := symphony.probe_rate_limit('email', 'a', r);
    insert into climb values (n, r);
  end loop;
end $$;
select is((select rate from climb where step = 1), 74.750::numeric, '15 % more');
select is((select rate from climb where step = 3), 95.000::numeric, 'but 0.95 of the first guess at most');
select is((select rate from climb where step = 4), 95.950::numeric, 'then 1 % past it');
select is((select rate from climb where step = 6), 98.761::numeric, 'and steps that about double (1, 1, 1.9 % ...)');
select ok((select rate from climb where step = 8) between 100 and 116, 'a few percent above the first guess after eight seconds');
-- A bucket that learned before the first guess was kept climbs as it did.
update symphony.rate_limits set guessed_rate = null, learned_per_second = 50,
       refused_at = clock_timestamp() - interval '2 seconds', raised_at = clock_timestamp() - interval '2 seconds',
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 50), 65.000::numeric, 'without a first guess: 30 % a second');

-- Paced at the rate once refused (100), 30 s after that 429: refused again.
update symphony.rate_limits set learned_per_second = 100, refused_rate = 100, accepted_rate = 95,
       refused_at = clock_timestamp() - interval '30 seconds', paused_until = null,
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 98, interval '100 ms');
select is((select (probe_hold, learned_per_second)::text from symphony.rate_limits where name = 'email'),
  '(00:00:20,95.000)', 'a 429 at the rate once refused doubles the hold; the rate goes back to the one accepted');

-- Held for the 20 seconds, then raised.
update symphony.rate_limits set refused_at = clock_timestamp() - interval '19 seconds',
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 95), 95.000::numeric, 'held 19 seconds after the 429');
update symphony.rate_limits set refused_at = clock_timestamp() - interval '20.5 seconds',
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 95), 95.950::numeric, 'raised by 1 % once the hold is over');

-- Touched again just above it (a probe at 1.02 of it): 40 s, and no more.
update symphony.rate_limits set learned_per_second = 102, refused_at = clock_timestamp() - interval '30 seconds',
       paused_until = null, accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 99, interval '100 ms');
select is((select probe_hold from symphony.rate_limits where name = 'email'), interval '40 seconds',
  'a second touch of the same limit doubles it again');
update symphony.rate_limits set learned_per_second = 102, refused_rate = 100,
       refused_at = clock_timestamp() - interval '50 seconds', paused_until = null, accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 99, interval '100 ms');
select is((select probe_hold from symphony.rate_limits where name = 'email'), interval '40 seconds',
  'up to 40 seconds');
-- (At 0.95 of the rate refused: below it, the rate climbs back at once.)
update symphony.rate_limits set learned_per_second = 95, refused_rate = 100,
       refused_at = clock_timestamp() - interval '39 seconds',
       raised_at = clock_timestamp() - interval '2 seconds', starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 95), 95.000::numeric, 'held 39 seconds after the 429');

-- The provider raised its limit: the search, climbing, is refused at twice
-- the rate once refused. The limit moved, so the hold is short again.
update symphony.rate_limits set learned_per_second = 200, refused_rate = 100, accepted_rate = 185,
       refused_at = clock_timestamp() - interval '60 seconds', paused_until = null,
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select symphony.rate_refused('email', 'a', 196, interval '100 ms');
select is((select (probe_hold, refused_rate)::text from symphony.rate_limits where name = 'email'),
  '(00:00:10,200.000)', 'a 429 far from the rate once refused sets the hold back to 10 seconds');

select * from finish();
rollback;
