-- Rate limits learned from 429s use every sidecar's count, and a rate learned
-- low recovers in seconds.
--
-- Before, the search guessed what all the sidecars sent as what the provider
-- accepted from the sidecar asking, times the live sidecars. Two sidecars
-- rarely split a queue evenly: at the first 429 of a provider allowing 100/s
-- one of them had 17 accepted, the guess was 34, and the rate started at 20/s
-- and took seven seconds to climb back (Twilio at 77-85 % of the limit used).
-- Now each sidecar writes what the provider accepted from it in the last
-- second into the bucket (accepted_counts) whenever it records a 429 or asks
-- for a raise, and the guess is their sum, scaled up only for live sidecars
-- that have not said.
--
-- If the 429 meant a full window of a second, that sum is between the limit
-- and twice it, so the first 429 of an unpaced bucket sets the rate at 0.75
-- of it; the second sidecar's 429 in the same moment corrects the first
-- guess with its own count. It is not taken as a bound: a stray 429 (the
-- chaos suite's fakes refuse 5 % of requests at random) bounded the rate at
-- a few a second and the queues did not drain. A 429 while paced bounds the
-- refused rate at the sum: paced above the limit, the sidecars had the
-- limit accepted in the last second, not the rate in force.
--
-- A rate held at 0.95 of the refused rate held for 30 seconds and then rose
-- 0.5 % a second: a provider that raised its limit from 10/s to 40/s was
-- found after nearly five minutes. Now the hold is 10 seconds, the rate then
-- rises 1 % a second back to the refused rate, and above it each second's
-- raise about doubles, up to 16 %: four times the rate about 20 seconds
-- after the hold. The limit of a provider that did not change is then
-- touched about once every 15 seconds, for a second, by about 1 %.
--
-- A sidecar counts an accepted request at the time it was sent, and reports
-- a first 429 twice: at once, and once the requests it had in flight have
-- answered (those the provider accepted before the 429 answer late, and
-- counted at once, two sidecars at 100/s reported 87).
alter table symphony.rate_limits
  add column accepted_counts jsonb not null default '{}'
    constraint rate_limits_accepted_counts_object check (jsonb_typeof(accepted_counts) = 'object'),
  add column guessed_at timestamptz constraint rate_limits_guessed_at_finite check (isfinite(guessed_at));
comment on column symphony.rate_limits.accepted_counts is
  'What the provider accepted from each sidecar (by worker id) in the second before it last said, and when: {"<worker>": {"n": 42, "at": <epoch seconds>}}; reports older than a second are dropped.';
comment on column symphony.rate_limits.guessed_at is
  'When the first 429 of the bucket, unpaced then, set the first guess at the limit.';

-- _accepted_counts is counts with worker's report of observed at t, and
-- without reports older than a second.
create function symphony._accepted_counts(counts jsonb, worker text, observed numeric, t timestamptz) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_object_agg(k, v)
    from (select c.key as k, c.value as v
            from jsonb_each(counts) c
           where c.key <> worker and (c.value ->> 'at')::float8 > extract(epoch from t) - 1
          union all
          select worker, jsonb_build_object('n', greatest(observed, 0), 'at', extract(epoch from t))) r
$$;

-- _accepted_guess is what the provider accepted from every sidecar on bucket
-- in the last second: the sum of the reports in counts, scaled up to the live
-- sidecars when fewer have reported.
create function symphony._accepted_guess(bucket text, counts jsonb) returns numeric
language sql stable set search_path = '' as $$
  select coalesce(sum((c.value ->> 'n')::numeric), 0)
         * greatest(1, symphony._bucket_sidecars(bucket)::numeric / greatest(count(*), 1))
    from jsonb_each(counts) c
$$;

drop function symphony.rate_refused(text, numeric, interval);

-- rate_refused records a 429 seen by worker, which had observed requests
-- accepted in the last second: the bucket pauses for pause and, at most once
-- a second, the learned rate falls. guess is the sum of every sidecar's
-- count (see above).
--
--   * No rate yet (the sidecars were unpaced): the rate starts at 0.75 of the
--     guess (after a full window of a second the limit is between half the
--     guess and the guess), with no bound. Every report within that second (another sidecar's, or
--     the same one's once its requests in flight answered) raises that
--     sidecar's count and sets the rate again.
--   * A stated limit: 0.9 of the rate in force; probes return to the stated
--     rate less its margin.
--   * Otherwise the refused bound is the rate in force, or the guess (per
--     second of the last one the bucket was not paused in) when below 0.85
--     of it (but not below half of it: an early 429 of a stalled machine
--     says little). The rate goes halfway between the bounds when they are
--     more than a tenth apart, else back to the rate accepted, at most 0.95
--     of the refused bound either way; 0.9 of the refused bound without a
--     lower one. A rate accepted just below the one refused is believed
--     now: the sum of the counts does not flatter it, and the search no
--     longer falls to 0.9 of the limit each time a probe touches it.
create function symphony.rate_refused(bucket text, worker text, observed numeric, pause interval) returns void
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  b symphony.rate_limits;
  counts jsonb;
  guess numeric;
  hi numeric;
  lo numeric;
  rate numeric;
  active numeric;
begin
  select * into b from symphony.rate_limits where name = bucket for update;
  if not found then
    return;
  end if;
  if b.guessed_at = b.refused_at and b.refused_at > t - interval '1 second'
     and (b.accepted_counts -> worker ->> 'at')::float8 >= extract(epoch from b.refused_at) then
    -- A sidecar's counts for the first guess only grow (its requests in
    -- flight answer): a lower one is of a later second, not a better count.
    observed := greatest(observed, (b.accepted_counts -> worker ->> 'n')::numeric);
  end if;
  counts := symphony._accepted_counts(b.accepted_counts, worker, observed, t);
  guess := symphony._accepted_guess(bucket, counts);
  if coalesce(b.refused_at, '-infinity') < t - interval '1 second'
     -- A 429 right after a stated limit was learned answers what was sent
     -- before the pacing began.
     and (b.learned_max is null or b.learned_at < t - interval '1 second') then
    if b.learned_per_second is null then
      if guess > 0 then
        update symphony.rate_limits
           set refused_rate = null, accepted_rate = null,
               learned_per_second = greatest(0.1, round(0.75 * guess, 3)),
               learned_source = coalesce(learned_source, '429 responses'),
               learned_at = t, refused_at = t, raised_at = t, guessed_at = t
         where name = bucket;
      end if;
    else
      if b.learned_max is not null then
        hi := b.learned_per_second;
        lo := null;
        rate := 0.9 * b.learned_per_second;
      else
        -- The counts cover the part of the last second the bucket was not
        -- paused in (a 429 pauses it from refused_at to paused_until): what
        -- was sent per second while sending. (Taken as it was, 78 sent in
        -- the 0.8 s after the first pause bounded a limit of 100 at 78.)
        active := case when b.paused_until is null or b.paused_until <= t - interval '1 second' then 1
                       else 1 - least(1, greatest(0, extract(epoch from least(b.paused_until, t)
                                - greatest(coalesce(b.refused_at, t - interval '1 second'), t - interval '1 second')))) end;
        if active >= 0.5 then
          guess := guess / active;
        else
          guess := null;
        end if;
        -- The sum of the counts misses what was in flight and is a moment
        -- old: well below the rate in force it says the sidecars sent less,
        -- or were paced above the limit; near it, the rate is the bound
        -- (with 0.9 here, a 429 at 98.9/s against a limit of 100 took the
        -- guess of 89 as the bound).
        -- While the bucket held the queue back, the rate in force is what
        -- was refused (counts then read low: with it ignored, the chaos
        -- suite's random 429s halved the rate again and again).
        hi := case when b.starved_at > t - interval '1 second' or guess >= 0.85 * b.learned_per_second
                   then b.learned_per_second
                   else greatest(0.5 * b.learned_per_second, guess) end;
        lo := case when b.accepted_rate < hi then b.accepted_rate end;
        -- Bounds far apart: halfway between them. Close: back to the rate
        -- accepted (halfway between 100 accepted and 121 refused was
        -- refused, and then halfway again: a second of 429s each time).
        rate := case when lo is null then 0.9 * hi
                     when lo < 0.9 * hi then least(0.95 * hi, greatest(0.5 * (lo + hi), 0.9 * lo))
                     else least(0.95 * hi, lo) end;
      end if;
      update symphony.rate_limits
         set refused_rate = round(hi, 3), accepted_rate = round(lo, 3),
             learned_per_second = greatest(0.1, round(rate, 3)),
             learned_source = coalesce(learned_source, '429 responses'),
             learned_at = t, refused_at = t, raised_at = t
       where name = bucket;
    end if;
  elsif b.guessed_at = b.refused_at and b.learned_max is null and guess > 0 then
    -- Another sidecar's count for the first guess, made a moment ago, or the
    -- same sidecar's again once the requests it had in flight answered.
    update symphony.rate_limits
       set learned_per_second = greatest(0.1, round(0.75 * guess, 3))
     where name = bucket;
  end if;
  -- The window the first 429s answered for ends within a second of the
  -- first of them: the other sidecars' 429s of that moment, recorded later
  -- (a busy database took 100-250 ms), do not push the pause further.
  update symphony.rate_limits r
     set tokens = 0, refilled_at = t, accepted_counts = counts,
         paused_until = greatest(coalesce(r.paused_until, t),
                                 case when r.guessed_at = r.refused_at and r.refused_at > t - interval '1 second'
                                      then least(t, r.refused_at) + pause else t + pause end)
   where name = bucket;
end $$;

drop function symphony.probe_rate_limit(text, numeric);

-- probe_rate_limit is asked, about four times a second by each sidecar whose
-- queue the bucket holds back, whether the learned rate may rise; worker
-- reports what the provider accepted from it in the last second (observed).
-- The rate rises at most once a second for all of them, and only while the
-- sidecars reach it (the sum of their counts is at least 85 % of it). A rate
-- in force for a second without a 429 is the new lower bound (or what the
-- sidecars sent, if less). Then:
--
--   * with a stated limit: halfway to it (at least 1/s more);
--   * below 0.95 of the refused rate: halfway to the refused rate, but by a
--     fifth at most and to 0.95 of it at most;
--   * nothing refused while paced yet: 30 % more;
--   * at 0.95 of the refused rate: held for 10 seconds after the 429, then
--     raised once a second by 1 % up to the refused rate, and above it by
--     how far it already is above it, up to 16 %: 1, 1, 2, 4, 8, 16, 16 % ...
--     a second, so that the share roughly doubles each second.
--
-- Returns the rate in force afterwards (null: nothing learned).
create function symphony.probe_rate_limit(bucket text, worker text, observed numeric) returns numeric
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  counts jsonb;
  guess numeric;
  rate numeric;
begin
  select symphony._accepted_counts(accepted_counts, worker, observed, t) into counts
    from symphony.rate_limits where name = bucket for update;
  if not found then
    return null;
  end if;
  guess := symphony._accepted_guess(bucket, counts);
  update symphony.rate_limits
     set accepted_counts = counts,
         -- (What the sidecars sent, if below the rate: a rate they did not
         -- reach was not accepted.)
         accepted_rate = greatest(accepted_rate, least(learned_per_second, guess)),
         learned_per_second = round(least(coalesce(learned_max, 'infinity'), case
           when learned_max is not null then greatest(learned_per_second + 1, 0.5 * (learned_per_second + learned_max))
           when refused_rate is null then learned_per_second * 1.3
           -- (Compared as stored, to 3 places: a rate set to 0.95 of the
           -- refused one and rounded down stayed "below" it, and was set to
           -- it again every second instead of rising.)
           when learned_per_second < round(0.95 * refused_rate, 3)
             then least(0.95 * refused_rate, 1.2 * learned_per_second,
                        greatest(learned_per_second + 0.1, 0.5 * (learned_per_second + refused_rate)))
           when refused_at > t - interval '10 seconds' then learned_per_second
           else learned_per_second
                * (1 + least(0.16, greatest(0.01, learned_per_second / refused_rate - 1))) end), 3),
         raised_at = t
   where name = bucket and per_second is null and learned_per_second is not null
     and learned_per_second < coalesce(learned_max, 'infinity')
     and coalesce(refused_at, '-infinity') < t - interval '1 second'
     and coalesce(raised_at, '-infinity') < t - interval '1 second'
     and starved_at > t - interval '1 second'
     and guess >= 0.85 * learned_per_second;
  if not found then
    update symphony.rate_limits set accepted_counts = counts where name = bucket;
  end if;
  select learned_per_second into rate from symphony.rate_limits where name = bucket;
  return rate;
end $$;

revoke all on function symphony._accepted_counts(jsonb, text, numeric, timestamptz),
  symphony._accepted_guess(text, jsonb), symphony.rate_refused(text, text, numeric, interval),
  symphony.probe_rate_limit(text, text, numeric) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony._accepted_counts(jsonb, text, numeric, timestamptz), '
        'symphony._accepted_guess(text, jsonb), symphony.rate_refused(text, text, numeric, interval), '
        'symphony.probe_rate_limit(text, text, numeric) from %I', r);
    end if;
  end loop;
end $$;
