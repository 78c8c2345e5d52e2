-- A 429 alone tells the rate search where the limit is (sidecar/worker/learn.go,
-- learner.stray).
--
-- Once a bucket paces a provider that states no limit, a 429 between accepted
-- requests only makes its message wait: the chaos suite's fakes refuse 5 % of
-- requests at random, and read as the limit each such 429 held the rate at
-- 1-2/s. A sidecar reads the limit from two 429s in a row, or three alone
-- each less than 1.2 s after the last. But a rate a request or two above a
-- limit meets about one 429 a window, split between the sidecars, and neither
-- sees three close together: in the Postmark and Twilio pacing benchmarks
-- (two sidecars, a limit of 100/s) the search settled at 100.7 and 101.1/s
-- and was refused about once a second for the rest of the run, 1.6-1.9 % of
-- all requests. Climbing, it also passed lone 429s at 102/s to read the
-- limit at 110/s, then came back to 0.95 of 110, above the limit again.
--
-- Each such 429 now goes to the bucket (rate_stray, for every sidecar):
--   - stray_at, stray_rate: the rate in force at the 429s alone of the last
--     three seconds, the lowest. A limit read within three seconds
--     (rate_refused) takes no higher a refused bound.
--   - A trial: the third 429 alone on the bucket, each less than 2 s after
--     the last, lowers the rate by 5 % for five seconds, or as long as 100
--     requests take at the rate before it, up to 30 (trial_at, trial_rate;
--     no probe raises it meanwhile). A limit refuses no more (or
--     once) at the lower rate: the rate before the trial becomes the refused
--     bound, the rate in force the accepted one, and the search holds for 10
--     seconds (the next probe_rate_limit or rate_stray says so). A provider
--     that refuses at random goes on refusing: two more 429s alone within
--     the trial, and no limit read, bring the rate back at its end and make
--     the bucket ignore 429s alone for five minutes (noise_until), as it did
--     before this migration. (5 % refused at random come 5 times in a
--     trial on average. The chaos suite did not drain with versions whose
--     trials lasted 3 or 5 seconds whatever the rate: at the 5-10 requests
--     a second its buckets fell to, trials read random 429s as the limit
--     about half the time; nor with one where a 429 alone was the limit
--     until a rate was refused, which stopped the climb past a first guess
--     made from an early random 429 at a few requests a second.)
--   - The first guess starts the rate at 0.65 of it, not 0.75, and the climb
--     to 0.95 of it goes by 15 % a second, not 30 %. The guess was 1.25-1.58
--     times the limit in most pacing runs (what a ramping start sent in the
--     window before the full one counts too): 0.75 of it started above the
--     limit, and one 30 % step took the rate to 1.4 times it. Most of the
--     429s of a run came in its first ten seconds.
-- Nothing else here pauses the bucket: a trial costs a provider that refuses at
-- random 5 % of five seconds' sending every five minutes.
alter table symphony.rate_limits
  add column stray_at timestamptz constraint rate_limits_stray_at_finite check (isfinite(stray_at)),
  add column stray_rate numeric constraint rate_limits_stray_rate_positive check (stray_rate > 0),
  add column strays integer not null default 0 constraint rate_limits_strays_nonnegative check (strays >= 0),
  add column trial_at timestamptz constraint rate_limits_trial_at_finite check (isfinite(trial_at)),
  add column trial_rate numeric constraint rate_limits_trial_rate_positive check (trial_rate > 0),
  add column noise_until timestamptz constraint rate_limits_noise_until_finite check (isfinite(noise_until));
comment on column symphony.rate_limits.stray_at is
  'When a sidecar last met a 429 alone (between accepted requests) while the bucket paced a provider that states no limit; see rate_stray.';
comment on column symphony.rate_limits.stray_rate is
  'The learned rate in force at the 429s alone of the three seconds up to stray_at, the lowest of them: what rate_refused bounds the rate refused by.';
comment on column symphony.rate_limits.strays is
  '429s alone in a row on the bucket, each less than 2 s after the last; since trial_at during a trial.';
comment on column symphony.rate_limits.trial_at is
  'When 429s alone lowered the rate by 5 % for 5 s to see whether they stop (they are the limit) or go on (the provider refuses at random); null when no trial runs.';
comment on column symphony.rate_limits.trial_rate is
  'The learned rate before the trial at trial_at.';
comment on column symphony.rate_limits.noise_until is
  'Until when 429s alone are ignored (five minutes): a trial found they go on at a lower rate.';

-- The end of a trial: 5 seconds, or as long as 100 requests take at the rate
-- before it, up to 30 seconds (at 20 requests a second, 5 % refused at random
-- come 5 times in it; at 6.5 a second they came under twice in 5 seconds
-- about half the time, and the trial read them as the limit). By the next
-- probe_rate_limit or
-- rate_stray of the bucket after it; a limit read during the trial ends it
-- without a verdict, rate_refused).
--   * At most one 429 alone at the lower rate: they were the limit. The rate
--     before the trial is the refused bound, the one in force the accepted
--     one, and the search holds for the short hold, 10 seconds (a trial is
--     weaker evidence than two 429s in a row, and read wrong it would hold a
--     provider refusing at random below what it accepts).
--   * Two or more, and no limit read: they were not about the rate. It comes
--     back, and 429s alone are ignored for five minutes. (Decided at the end, not
--     at the second 429: a rate far above the limit also goes on drawing 429s
--     at 5 % less, and the 429s in a row it meets read the limit first.)
create function symphony._end_rate_trial(bucket text, t timestamptz) returns void
language plpgsql set search_path = '' as $$
begin
  update symphony.rate_limits
     set refused_rate = case when strays < 2 then least(coalesce(refused_rate, trial_rate), trial_rate) else refused_rate end,
         accepted_rate = case when strays < 2 then learned_per_second else accepted_rate end,
         refused_at = case when strays < 2 then t else refused_at end,
         raised_at = case when strays < 2 then t else raised_at end,
         probe_hold = case when strays < 2 then interval '10 seconds' else probe_hold end,
         learned_per_second = case when strays < 2 then learned_per_second else greatest(learned_per_second, trial_rate) end,
         noise_until = case when strays < 2 then noise_until else t + interval '5 minutes' end,
         stray_at = case when strays < 2 then stray_at end,
         stray_rate = case when strays < 2 then stray_rate end,
         trial_at = null, strays = 0
   where name = bucket
     and trial_at <= t - greatest(interval '5 seconds', least(interval '30 seconds', 100 / trial_rate * interval '1 second'));
end $$;

create function symphony.rate_stray(bucket text) returns void
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  b symphony.rate_limits;
  n integer;
begin
  perform symphony._end_rate_trial(bucket, t);
  select * into b from symphony.rate_limits where name = bucket for update;
  if not found or b.per_second is not null or b.learned_per_second is null or b.noise_until > t then
    return;
  end if;
  if b.trial_at is not null then
    -- Counted for the trial's end (_end_rate_trial).
    update symphony.rate_limits set strays = strays + 1, stray_at = t where name = bucket;
    return;
  end if;
  n := case when b.stray_at > t - interval '2 seconds' then b.strays + 1 else 1 end;
  if n >= 3 and b.trial_at is null then
    update symphony.rate_limits
       set trial_at = t, trial_rate = learned_per_second, strays = 0,
           learned_per_second = greatest(0.1, round(0.95 * learned_per_second, 3)),
           stray_at = t, stray_rate = least(stray_rate, learned_per_second)
     where name = bucket;
    return;
  end if;
  update symphony.rate_limits
     set stray_rate = case when stray_at > t - interval '3 seconds' then least(stray_rate, learned_per_second)
                           else learned_per_second end,
         stray_at = t, strays = n
   where name = bucket;
end $$;
comment on function symphony.rate_stray(text) is
  'Record a 429 alone on bucket (the sidecar calls it): it bounds the next limit read; three close together start a trial at 5 % less (see the migration that defines it).';

-- rate_refused and probe_rate_limit as 20261207050000 defines them, but for
-- the 429s alone above.
create or replace function symphony.rate_refused(bucket text, worker text, observed numeric, pause interval) returns void
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
               learned_per_second = greatest(0.1, round(0.65 * guess, 3)), guessed_rate = round(guess, 3),
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
        -- A 429 alone a moment ago (rate_stray) came at a rate the limit was
        -- already under: the rate a climb passed it at is no bound.
        if b.stray_at > t - interval '3 seconds' and b.stray_rate < hi then
          hi := b.stray_rate;
        end if;
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
                   then least(2 * b.probe_hold, interval '40 seconds')
                   else interval '10 seconds' end;
      update symphony.rate_limits
         set refused_rate = round(hi, 3), accepted_rate = round(lo, 3),
             learned_per_second = greatest(0.1, round(rate, 3)),
             learned_source = coalesce(learned_source, '429 responses'),
             learned_at = t, refused_at = t, raised_at = t, probe_hold = hold
       where name = bucket;
    end if;
  elsif b.guessed_at = b.refused_at and b.learned_max is null and guess > 0 then
    -- Another sidecar's count for the first guess, made a moment ago, or the
    -- same sidecar's again once the requests it had in flight answered.
    update symphony.rate_limits
       set learned_per_second = greatest(0.1, round(0.65 * guess, 3)), guessed_rate = round(guess, 3)
     where name = bucket;
  end if;
  -- The window the first 429s answered for ends within a second of the
  -- first of them: the other sidecars' 429s of that moment, recorded later
  -- (a busy database took 100-250 ms), do not push the pause further.
  update symphony.rate_limits r
     set tokens = 0, refilled_at = t, accepted_counts = counts, trial_at = null,
         paused_until = greatest(coalesce(r.paused_until, t),
                                 case when r.guessed_at = r.refused_at and r.refused_at > t - interval '1 second'
                                      then least(t, r.refused_at) + pause else t + pause end)
   where name = bucket;
end $$;

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
  perform symphony._end_rate_trial(bucket, t);
  update symphony.rate_limits
     set accepted_counts = counts,
         -- (What the sidecars sent, if below the rate: a rate they did not
         -- reach was not accepted.)
         accepted_rate = greatest(accepted_rate, least(learned_per_second, guess)),
         learned_per_second = round(least(coalesce(learned_max, 'infinity'), case
           when learned_max is not null then greatest(learned_per_second + 1, 0.5 * (learned_per_second + learned_max))
           -- Nothing refused while paced: 15 % more up to 0.95 of the first
           -- guess, then past it by steps that about double (see above).
           when refused_rate is null and learned_per_second < round(0.95 * guessed_rate, 3)
             then least(1.15 * learned_per_second, 0.95 * guessed_rate)
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
     and coalesce(raised_at, '-infinity') < t - interval '1 second'
     and trial_at is null
     and starved_at > t - interval '1 second'
     and guess >= 0.85 * learned_per_second;
  if not found then
    update symphony.rate_limits set accepted_counts = counts where name = bucket;
  end if;
  select learned_per_second into rate from symphony.rate_limits where name = bucket;
  return rate;
end $$;

revoke all on function symphony.rate_stray(text), symphony._end_rate_trial(text, timestamptz) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.rate_stray(text), symphony._end_rate_trial(text, timestamptz) from %I', r);
    end if;
  end loop;
end $$;
-- CREATE OR REPLACE keeps the other two functions' grants (none but the owner's).
