-- Another client on the provider's account: a stated limit's window spent
-- below it (sidecar/worker/learn.go, Worker.RateSignal).
--
-- A bucket whose provider states its limit (Resend's ratelimit-*, SendGrid's
-- X-RateLimit-*) keeps to 0.95 of it, and each 429 lowers the rate by a tenth
-- and pauses the bucket for the Retry-After; once a second the probe raised
-- it again halfway to that ceiling. That is right when Symphony is the only
-- client. During a migration it is not: the application's own sender (the
-- legacy path of a rollout at 10 or 50 %) uses the same API key and the same
-- limit. Against a Resend fake allowing 20 requests a second, with such a
-- sender at 8 a second and two sidecars draining 600 emails, the rate climbed
-- past the 12 a second left every two seconds, met a 429 and paused for a
-- second: Symphony sent 8.3 a second, 7.8 % of its requests were refused, and
-- so were 6.7 % of the application's own.
--
-- The provider says how much of its window is left in every answer. A window
-- left with less than a bucket alone leaves at its ceiling (under 5 % of the
-- limit, or nothing, as learn.go's spentLeft reads it) while the bucket paced
-- below that ceiling has been spent by someone else too; a sidecar that reads
-- such an accepted answer says so here (rate_spent), at most twice a second.
--   - spent_at: when, recorded at most once a second, each time lowering
--     the rate by a tenth. The probe does not raise the rate within two
--     seconds of it, and for 30 seconds after it raises by 2 % a second (at
--     least 0.1), not halfway to the ceiling: the rate settles a step below
--     where the windows fill, instead of jumping past them.
--   - 30 seconds after the last spent window (the other client gone, say),
--     the probe climbs as it did.
-- A 429 still lowers the rate and pauses the bucket as before; random 429s
-- (the chaos suite's) carry no accepted answer's remaining, so they do not
-- slow the climb.
alter table symphony.rate_limits
  add column spent_at timestamptz constraint rate_limits_spent_at_finite check (isfinite(spent_at));
comment on column symphony.rate_limits.spent_at is
  'When a sidecar last read an accepted answer saying the provider''s stated window was spent (less left than the bucket alone leaves at its ceiling) while the bucket paced below that ceiling: another client uses the same account. See rate_spent.';

-- rate_spent records that an accepted answer of the provider behind bucket
-- said its window was spent, lowering the rate, and returns the rate in
-- force and the ceiling the stated limit sets (nothing is recorded, and null
-- returned, for a bucket with an operator's rate or no stated limit).
create function symphony.rate_spent(bucket text, out paced numeric, out ceiling numeric)
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
begin
  update symphony.rate_limits
     set spent_at = t, learned_per_second = greatest(0.1, round(0.9 * learned_per_second, 3))
   where name = bucket and per_second is null and learned_max is not null
     and learned_per_second < learned_max
     and coalesce(spent_at, '-infinity') < t - interval '1 second';
  select learned_per_second, learned_max into paced, ceiling
    from symphony.rate_limits
   where name = bucket and per_second is null and learned_max is not null;
end $$;
comment on function symphony.rate_spent(text) is
  'Record that the provider behind bucket said, in an accepted answer, that its stated window was spent (the sidecar calls it): another client shares the limit, and the probe holds the rate below where the windows fill (see the migration that defines it).';
revoke all on function symphony.rate_spent(text) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.rate_spent(text) from %I', r);
    end if;
  end loop;
end $$;

-- probe_rate_limit as 20261207070000 defines it, but for a stated limit's
-- spent windows above.
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
           -- A stated limit whose windows another client spent lately:
           -- a step at a time.
           when learned_max is not null and spent_at > t - interval '30 seconds'
             then greatest(learned_per_second + 0.1, 1.02 * learned_per_second)
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
     and coalesce(spent_at, '-infinity') < t - interval '2 seconds'
     and trial_at is null
     and starved_at > t - interval '1 second'
     and guess >= 0.85 * learned_per_second;
  if not found then
    update symphony.rate_limits set accepted_counts = counts where name = bucket;
  end if;
  select learned_per_second into rate from symphony.rate_limits where name = bucket;
  return rate;
end $$;
-- CREATE OR REPLACE keeps probe_rate_limit's grants (none but the owner's).
