-- A stated limit's window spent by another client
-- (20261208000000_stated_window_spent): rate_spent lowers the rate by a tenth
-- at most once a second, only below the ceiling and only where the provider
-- states its limit; the probe then waits two seconds, creeps by 2 % for 30
-- seconds, and climbs halfway to the ceiling after that.
begin;
create extension if not exists pgtap;
select plan(13);

insert into symphony.workers (id, hostname, version, queues) values ('a', 'h', 'v', '{"email": 16}');
select symphony.learn_rate_limit('email', 20, 'ratelimit-limit header');
select is((select (learned_per_second, learned_max)::text from symphony.rate_limits where name = 'email'),
  '(19.000,19.000)', 'a stated 20/s keeps the bucket to 19/s');

-- At the ceiling a bucket alone leaves that little in every window: not spent.
select is((select (paced, ceiling)::text from symphony.rate_spent('email')), '(19.000,19.000)',
  'rate_spent says the rate in force and the ceiling');
select is((select (learned_per_second, spent_at is null)::text from symphony.rate_limits where name = 'email'),
  '(19.000,t)', 'at the ceiling nothing is recorded');

-- Below it (a 429 lowered it), a spent window is another client's doing.
update symphony.rate_limits set learned_per_second = 15 where name = 'email';
select symphony.rate_spent('email');
select is((select (learned_per_second, spent_at is not null)::text from symphony.rate_limits where name = 'email'),
  '(13.500,t)', 'below the ceiling a spent window lowers the rate by a tenth and is recorded');
select symphony.rate_spent('email');
select is((select learned_per_second from symphony.rate_limits where name = 'email'), 13.500::numeric,
  'at most once a second');

-- The probe, while the bucket holds its queue back: not within two seconds.
create function pg_temp.probe(spent_ago interval) returns numeric language sql as $$
  update symphony.rate_limits set spent_at = clock_timestamp() - spent_ago, refused_at = null, raised_at = null,
         starved_at = clock_timestamp(), accepted_counts = '{}', learned_per_second = 13.5
   where name = 'email';
  select symphony.probe_rate_limit('email', 'a', 13.5);
$$;
select is(pg_temp.probe(interval '1 second'), 13.500::numeric, 'no raise within two seconds of a spent window');
select is(pg_temp.probe(interval '5 seconds'), 13.770::numeric, 'within 30 seconds of one, 2 % a second');
select is(pg_temp.probe(interval '40 seconds'), 16.250::numeric, 'after that, halfway to the ceiling as before');

-- Nothing for a bucket with an operator's rate, or one whose provider states no limit.
update symphony.rate_limits set per_second = 5, spent_at = null, learned_per_second = 15 where name = 'email';
select is((select (paced, ceiling)::text from symphony.rate_spent('email')), '(,)', 'an operator''s rate: nothing returned');
select is((select (learned_per_second, spent_at is null)::text from symphony.rate_limits where name = 'email'),
  '(15,t)', 'nor recorded');
update symphony.rate_limits set learned_per_second = 30, learned_source = '429 responses' where name = 'sms';
select symphony.rate_spent('sms');
select is((select (learned_per_second, spent_at is null)::text from symphony.rate_limits where name = 'sms'),
  '(30,t)', 'a provider that states no limit has no window to spend');

-- Only the owner runs it, as the sidecar does.
select is(has_function_privilege('service_role', 'symphony.rate_spent(text)', 'execute'), false,
  'service_role cannot call rate_spent');
select is(has_function_privilege('anon', 'symphony.rate_spent(text)', 'execute'), false,
  'anon cannot call rate_spent');

select * from finish();
rollback;
