-- 429s at random (20261207070000_random_refusals): a few 429s a second
-- start a trial; if they go on once the rate is down to 0.7 of where they
-- began, the provider refuses at random and the search goes back to where it
-- was, and for a minute a few 429s change nothing. Many 429s are the limit,
-- as before; so is a 429 whose sidecar did not count its refusals.
begin;
create extension if not exists pgtap;
select plan(18);

insert into symphony.workers (id, hostname, version, queues) values ('a', 'h', 'v', '{"email": 16}');

-- Paced at 10/s, refused at 11/s 30 s ago, 10 accepted.
create function pg_temp.paced(rate numeric) returns void language sql as $$
  update symphony.rate_limits
     set learned_per_second = rate, accepted_rate = 10, refused_rate = 11, guessed_rate = 12,
         learned_source = '429 responses', learned_at = clock_timestamp() - interval '30 seconds',
         refused_at = clock_timestamp() - interval '30 seconds', raised_at = clock_timestamp() - interval '5 seconds',
         probe_hold = interval '20 seconds', paused_until = null, tokens = 1, accepted_counts = '{}',
         trial = null, random_at = null, stray_at = null
   where name = 'email';
$$;
-- Time passes: the last lowering (and the trial's) was ago.
create function pg_temp.later(ago interval) returns void language sql as $$
  update symphony.rate_limits
     set refused_at = clock_timestamp() - ago, raised_at = clock_timestamp() - ago,
         trial = trial || jsonb_build_object('at', clock_timestamp() - ago,
                                             'until', (trial ->> 'until')::timestamptz - ago),
         paused_until = null
   where name = 'email';
$$;

select pg_temp.paced(10);
select is(symphony.rate_refused('email', 'a', 9, interval '1 second', 1), false, 'a few 429s are not stray at first');
select ok((select learned_per_second < 10 and paused_until > clock_timestamp() from symphony.rate_limits where name = 'email'),
  'they lower the rate and pause the bucket, as before');
select is((select (trial ->> 'learned_per_second')::numeric from symphony.rate_limits where name = 'email'), 10::numeric,
  'and start a trial, keeping the search as it was');

-- Two seconds on, a few again: lowered again, the same trial.
select pg_temp.later(interval '2 seconds');
select is(symphony.rate_refused('email', 'a', 8, interval '1 second', 1), false, 'a few more, two seconds on');
select ok((select learned_per_second < 9 and (trial ->> 'learned_per_second')::numeric = 10
                  and (trial ->> 'at')::timestamptz > clock_timestamp() - interval '1 second'
             from symphony.rate_limits where name = 'email'),
  'lower the rate again, in the same trial');

-- At 0.7 of where they began, a second after the last lowering, a few come
-- still: the provider refuses at random.
update symphony.rate_limits set learned_per_second = 6.9 where name = 'email';
select pg_temp.later(interval '1.5 seconds');
select is(symphony.rate_refused('email', 'a', 7, interval '1 second', 1), true,
  'a few 429s at 0.7 of the rate they began at are stray');
select is((select (learned_per_second, refused_rate, accepted_rate, probe_hold, trial)::text from symphony.rate_limits where name = 'email'),
  '(10,11,10,00:00:20,)', 'the search is back where it was before the trial');
select ok((select random_at > clock_timestamp() - interval '1 second' and paused_until is null from symphony.rate_limits where name = 'email'),
  'the provider is found to refuse at random; the bucket is not paused');

-- For a minute, a few 429s change nothing; many are still the limit.
select is(symphony.rate_refused('email', 'a', 9, interval '1 second', 2), true, 'within the minute, two in a second are stray');
select ok((select learned_per_second = 10 and paused_until is null from symphony.rate_limits where name = 'email'),
  'and leave the rate and the bucket as they were');
update symphony.rate_limits set refused_at = clock_timestamp() - interval '30 seconds' where name = 'email';
select is(symphony.rate_refused('email', 'a', 50, interval '1 second', 3), false, 'three are not, even among many accepted');
select ok((select learned_per_second < 10 and trial is null from symphony.rate_limits where name = 'email'),
  'they lower the rate, with no trial');

-- A lowering that stopped the 429s for 60 requests (8 s at 7.5/s) ends the
-- trial: the next few start a new one from the rate they come at.
select pg_temp.paced(10);
select symphony.rate_refused('email', 'a', 9, interval '1 second', 1);
update symphony.rate_limits set learned_per_second = 7.5 where name = 'email';
select pg_temp.later(interval '9 seconds');
select is(symphony.rate_refused('email', 'a', 7, interval '1 second', 1), false,
  'a few 429s 60 requests after the last lowering are not stray');
select is((select (trial ->> 'learned_per_second')::numeric from symphony.rate_limits where name = 'email'), 7.5::numeric,
  'they start a trial of their own');

-- No raise during a trial.
select pg_temp.paced(10);
select symphony.rate_refused('email', 'a', 9, interval '1 second', 1);
update symphony.rate_limits set refused_at = clock_timestamp() - interval '2 seconds', raised_at = clock_timestamp() - interval '2 seconds',
       starved_at = clock_timestamp(), accepted_counts = '{}'
 where name = 'email';
select is(symphony.probe_rate_limit('email', 'a', 10), (select learned_per_second from symphony.rate_limits where name = 'email'),
  'a probe during a trial does not raise the rate');

-- A sidecar that does not count its refusals (before this migration).
select pg_temp.paced(10);
select is(symphony.rate_refused('email', 'a', 9, interval '100 ms'), false, 'a 429 without a count');
select ok((select learned_per_second < 10 and trial is null from symphony.rate_limits where name = 'email'),
  'lowers the rate as before, with no trial');

-- A second with a stray 429 in it is not taken as accepted.
select pg_temp.paced(10);
update symphony.rate_limits set random_at = clock_timestamp(), accepted_rate = 9 where name = 'email';
select symphony.rate_refused('email', 'a', 9, interval '1 second', 1);
update symphony.rate_limits set starved_at = clock_timestamp(), raised_at = clock_timestamp() - interval '2 seconds',
       accepted_counts = '{}'
 where name = 'email';
select symphony.probe_rate_limit('email', 'a', 10);
select is((select accepted_rate from symphony.rate_limits where name = 'email'), 9::numeric,
  'a probe within a second of a stray 429 does not raise the accepted rate');

select * from finish();
rollback;
