-- A 429-only provider that refuses a few requests at random is found out by
-- an experiment, and its 429s then change nothing.
--
-- Every 429 of such a provider (Postmark, Twilio) lowered the learned rate,
-- held it there 10 to 40 seconds and paused the bucket for every sidecar,
-- for Retry-After if given. A provider that refuses a few percent of
-- requests whatever the rate (the chaos suite's fakes refuse 5 % at random,
-- with Retry-After: 1; providers shed load the same way) was taken for a
-- limit below every rate tried: the rates fell from 2.4 and 4.2/s to 1.0 and
-- 1.4/s in three minutes, the bucket was paused much of the time, and the
-- queues did not drain.
--
-- One second's 429s cannot tell a rate a few requests past a limit from a
-- few requests refused at random. Lowering the rate can: a limit stops
-- refusing once the rate is below it; random refusals go on. (Rules that
-- read one second's counts passed the chaos suite and let the rate sit above
-- a real limit: 1.9-2.3 % refused in the pacing benchmark, against 0.1-1 %.)
--
-- rate_refused now takes refused, the 429s the sidecar had from the bucket's
-- provider in the last second, this one included (null: not counted; the
-- search is as it was), and says whether the 429 was stray.
-- - A few 429s (fewer than 3 from the sidecar in the second) lower the rate
--   as before, and start a trial: the search as it was is kept (trial).
--   Each few 429s that lower the rate again before the trial ends go on
--   with it; many end it; so do 60 requests at the lowered rate, 5 s at
--   least, without a 429 (the limit was found). The rate is not raised
--   during a trial.
-- - A few 429s a second or more after the trial's last lowering, once the
--   rate is down to 0.7 of where it began, are random: the search goes back
--   to where it was before the trial, and the provider is marked as refusing
--   at random (random_at).
-- - For a minute after that, a few 429s are stray: they change neither the
--   rate nor the bucket's pace (the refused message waits its Retry-After),
--   and a 429 that is not does not double the hold. Then the next few 429s
--   try again.
-- A provider that refuses only past its limit is searched as before: a rate
-- it refuses fewer than 3 requests a second of (per sidecar) is less than
-- 1/0.7 of its limit, so at 0.7 of that rate it refuses nothing, unless the
-- limit is below about 7 requests a second for each sidecar sending, or it
-- moved down during the trial.
--
-- A second with a stray 429 in it is not a second accepted: probe_rate_limit
-- still raises the rate after it, but not accepted_rate.

alter table symphony.rate_limits
  add column trial jsonb,
  add column random_at timestamptz constraint rate_limits_random_at_finite check (isfinite(random_at)),
  add column stray_at timestamptz constraint rate_limits_stray_at_finite check (isfinite(stray_at));
comment on column symphony.rate_limits.trial is
  'The rate search as it was before a few 429s began lowering the rate (learned_per_second, refused_rate, accepted_rate, refused_at, raised_at, probe_hold), and when it last lowered it (at). Restored if a few 429s still come at 0.7 of the rate they began at.';
comment on column symphony.rate_limits.random_at is
  'When a trial found that the provider refuses at random: lowering the rate to 0.7 of itself did not stop a few 429s a second. For a minute after, a few 429s change nothing.';
comment on column symphony.rate_limits.stray_at is
  'When the provider last refused a request at random (a stray 429): the second before it is not taken as accepted.';

drop function symphony.rate_refused(text, text, numeric, interval);

-- rate_refused as 20261207050000 defines it, but for refused, the trial and
-- stray 429s; it says whether the 429 was stray.
create function symphony.rate_refused(bucket text, worker text, observed numeric, pause interval,
                                      refused numeric default null) returns boolean
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
  hold interval;
  few boolean;
begin
  select * into b from symphony.rate_limits where name = bucket for update;
  if not found then
    return false;
  end if;
  if b.guessed_at = b.refused_at and b.refused_at > t - interval '1 second'
     and (b.accepted_counts -> worker ->> 'at')::float8 >= extract(epoch from b.refused_at) then
    -- A sidecar's counts for the first guess only grow (its requests in
    -- flight answer): a lower one is of a later second, not a better count.
    observed := greatest(observed, (b.accepted_counts -> worker ->> 'n')::numeric);
  end if;
  counts := symphony._accepted_counts(b.accepted_counts, worker, observed, t);
  guess := symphony._accepted_guess(bucket, counts);
  -- Few: fewer than 3 429s from this sidecar in the last second. A limit
  -- crossed by more than a few requests a second refuses more. (A quarter
  -- of its requests, as well, let a rate 40 % past a limit of 100/s count
  -- as few.)
  few := refused is not null and b.learned_max is null and b.learned_per_second is not null
         and refused < 3;
  if few and b.random_at > t - interval '1 minute' then
    -- The provider refuses at random (found within the minute): a few 429s
    -- change nothing. The refused message waits its pause; the bucket does
    -- not.
    update symphony.rate_limits set accepted_counts = counts, stray_at = t where name = bucket;
    return true;
  end if;
  if few and (b.trial ->> 'at')::timestamptz <= t - interval '1 second' and (b.trial ->> 'until')::timestamptz > t
     and b.learned_per_second <= 0.7 * (b.trial ->> 'learned_per_second')::numeric then
    -- The trial: each few 429s lowered the rate, each within 5 s of the
    -- last, to 0.7 of the rate the first came at, and still a few come a
    -- second or more after the last lowering. A limit would have stopped
    -- refusing; the provider refuses at random. The search goes back to
    -- where it was before the trial.
    update symphony.rate_limits r
       set learned_per_second = (b.trial ->> 'learned_per_second')::numeric,
           refused_rate = (b.trial ->> 'refused_rate')::numeric,
           accepted_rate = (b.trial ->> 'accepted_rate')::numeric,
           refused_at = (b.trial ->> 'refused_at')::timestamptz,
           raised_at = (b.trial ->> 'raised_at')::timestamptz,
           probe_hold = (b.trial ->> 'probe_hold')::interval,
           trial = null, random_at = t, stray_at = t, accepted_counts = counts
     where name = bucket;
    return true;
  end if;
  if coalesce(b.refused_at, '-infinity') < t - interval '1 second'
     -- A 429 right after a stated limit was learned answers what was sent
     -- before the pacing began.
     and (b.learned_max is null or b.learned_at < t - interval '1 second') then
    if b.learned_per_second is null then
      if guess > 0 then
        update symphony.rate_limits
           set refused_rate = null, accepted_rate = null,
               learned_per_second = greatest(0.1, round(0.75 * guess, 3)), guessed_rate = round(guess, 3),
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
      -- The search touched the limit where it was (refused at or just above
      -- the rate once refused): hold twice as long before the next touch.
      -- Anywhere else the limit moved: search again from the short hold.
      hold := case when b.learned_max is null and b.refused_rate is not null
                        and b.learned_per_second >= round(0.95 * b.refused_rate, 3)
                        and b.learned_per_second <= 1.2 * b.refused_rate
                        -- (Not for a provider found to refuse at random:
                        -- its 429s say little about where the limit is.)
                        and coalesce(b.random_at, '-infinity') <= t - interval '1 minute'
                   then least(2 * b.probe_hold, interval '40 seconds')
                   else interval '10 seconds' end;
      update symphony.rate_limits
         set refused_rate = round(hi, 3), accepted_rate = round(lo, 3),
             learned_per_second = greatest(0.1, round(rate, 3)),
             learned_source = coalesce(learned_source, '429 responses'),
             learned_at = t, refused_at = t, raised_at = t, probe_hold = hold,
             -- A few 429s start a trial, or go on with the one within 5 s
             -- of its last lowering; many end it (the limit).
             -- (It lasts until 60 requests at the lowered rate, 5 s at
             -- least, have gone by without a 429: 5 % refused at random
             -- leave 60 untouched 5 times in a hundred. At a few requests
             -- a second, 5 s ended every trial before the next 429, and
             -- each began lower.)
             trial = case when not few then null
                          when (b.trial ->> 'until')::timestamptz > t
                            then b.trial || jsonb_build_object('at', t,
                                   'until', t + greatest(interval '5 seconds', 60 / greatest(rate, 0.1) * interval '1 second'))
                          else jsonb_build_object('learned_per_second', b.learned_per_second,
                                 'refused_rate', b.refused_rate, 'accepted_rate', b.accepted_rate,
                                 'refused_at', b.refused_at, 'raised_at', b.raised_at, 'probe_hold', b.probe_hold,
                                 'at', t, 'until', t + greatest(interval '5 seconds', 60 / greatest(rate, 0.1) * interval '1 second')) end
       where name = bucket;
    end if;
  elsif b.guessed_at = b.refused_at and b.learned_max is null and guess > 0 then
    -- Another sidecar's count for the first guess, made a moment ago, or the
    -- same sidecar's again once the requests it had in flight answered.
    update symphony.rate_limits
       set learned_per_second = greatest(0.1, round(0.75 * guess, 3)), guessed_rate = round(guess, 3)
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
  return false;
end $$;

-- probe_rate_limit as 20261207050000 defines it, but for stray_at.
create or replace function symphony.probe_rate_limit(bucket text, worker text, observed numeric) returns numeric
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
         -- reach was not accepted. Nor was a second with a stray 429 in it.)
         accepted_rate = case when coalesce(stray_at, '-infinity') < t - interval '1 second'
                              then greatest(accepted_rate, least(learned_per_second, guess))
                              else accepted_rate end,
         learned_per_second = round(least(coalesce(learned_max, 'infinity'), case
           when learned_max is not null then greatest(learned_per_second + 1, 0.5 * (learned_per_second + learned_max))
           -- Nothing refused while paced: 30 % more up to 0.95 of the first
           -- guess, then past it by steps that about double (see above).
           when refused_rate is null and learned_per_second < round(0.95 * guessed_rate, 3)
             then least(1.3 * learned_per_second, 0.95 * guessed_rate)
           when refused_rate is null and guessed_rate is not null
             then learned_per_second * (1 + least(0.16, greatest(0.01, learned_per_second / guessed_rate - 0.95)))
           when refused_rate is null then learned_per_second * 1.3
           -- (Compared as stored, to 3 places: a rate set to 0.95 of the
           -- refused one and rounded down stayed "below" it, and was set to
           -- it again every second instead of rising.)
           when learned_per_second < round(0.95 * refused_rate, 3)
             then least(0.95 * refused_rate, 1.2 * learned_per_second,
                        greatest(learned_per_second + 0.1, 0.5 * (learned_per_second + refused_rate)))
           when refused_at > t - probe_hold then learned_per_second
           else learned_per_second
                * (1 + least(0.16, greatest(0.01, learned_per_second / refused_rate - 1))) end), 3),
         raised_at = t
   where name = bucket and per_second is null and learned_per_second is not null
     and learned_per_second < coalesce(learned_max, 'infinity')
     and coalesce(refused_at, '-infinity') < t - interval '1 second'
     -- (Not during a trial: the rate it lowered is what it tries.)
     and coalesce((trial ->> 'until')::timestamptz, '-infinity') <= t
     and coalesce(raised_at, '-infinity') < t - interval '1 second'
     and starved_at > t - interval '1 second'
     and guess >= 0.85 * learned_per_second;
  if not found then
    update symphony.rate_limits set accepted_counts = counts where name = bucket;
  end if;
  select learned_per_second into rate from symphony.rate_limits where name = bucket;
  return rate;
end $$;

-- CREATE OR REPLACE keeps probe_rate_limit's grants (none but the owner's);
-- the new rate_refused has none either.
revoke all on function symphony.rate_refused(text, text, numeric, interval, numeric) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.rate_refused(text, text, numeric, interval, numeric) from %I', r);
    end if;
  end loop;
end $$;
