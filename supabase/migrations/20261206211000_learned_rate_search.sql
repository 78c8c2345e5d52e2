-- Rate limits learned from 429s: a search between two bounds, not a climb.
--
-- A provider that states no limit (Postmark, Twilio's 20429) only refuses.
-- The sidecars paced evenly at a rate the provider accepts for a whole
-- second know that rate is allowed; a rate it refused is too much. The
-- learned rate now moves between those two bounds by halving the gap
-- (accepted_rate below, refused_rate above) and holds at 0.95 of the refused
-- rate, where the earlier climb by 5 % a second overshot the limit every few
-- seconds and spent a window's tail each time (2-4 % of the requests
-- refused with two sidecars at 100/s).
--
-- Such a bucket now lets a claim take 3 % of a second's tokens at once, as a
-- stated one does: with one token a claim, two sidecars at 93/s sent 73/s (a
-- claim late for its token on a busy machine lost it). 0.95 of the refused
-- rate plus those 3 % keeps any second under the refused rate.
--
-- A provider that states its limit is believed: a 429 there (a window that
-- other senders on the account share, or requests bunched by a stalled
-- machine) lowers the rate to 0.9 of itself for a moment, and probes go back
-- to the stated rate less its margin. Before, the refused rate was taken from
-- one sidecar's count of the last second, and one early 429 held a stated
-- 100/s at 79.5/s for good.
alter table symphony.rate_limits
  add column accepted_rate numeric check (accepted_rate > 0);
comment on column symphony.rate_limits.accepted_rate is
  'The highest learned rate held for a second without a 429 since the provider last refused: the search''s lower bound.';

-- rate_refused records a 429: the bucket pauses for pause and, at most once a
-- second, the learned rate falls.
--
--   * No rate yet (the sidecars were unpaced): the sidecars' rate is guessed
--     as observed (what the provider accepted from the refused sidecar in the
--     last second) times the live sidecars on the bucket. A provider counting
--     in windows of a second let through between one and two windows' worth
--     in that second, so the limit lies between half the guess and the
--     guess: the search starts at 0.8 of it, with the guess as the refused
--     bound and half of it as the accepted one.
--   * A stated limit: 0.9 of the rate in force; probes return to the stated
--     rate less its margin.
--   * Otherwise the rate in force (or, if the bucket held nothing back
--     lately, the guess, when less) was refused: it becomes the upper bound, and the rate goes halfway
--     between the bounds, or to 0.9 of the refused rate without a lower one.
create or replace function symphony.rate_refused(bucket text, observed numeric, pause interval) returns void
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  guess numeric := greatest(observed, 1) * symphony._bucket_sidecars(bucket);
  b symphony.rate_limits;
  hi numeric;
  lo numeric;
  rate numeric;
begin
  select * into b from symphony.rate_limits where name = bucket for update;
  if not found then
    return;
  end if;
  if coalesce(b.refused_at, '-infinity') < t - interval '1 second'
     -- A 429 right after a stated limit was learned answers what was sent
     -- before the pacing began.
     and (b.learned_max is null or b.learned_at < t - interval '1 second') then
    if b.learned_per_second is null then
      hi := guess;
      lo := 0.5 * guess;
      rate := 0.8 * guess;
    elsif b.learned_max is not null then
      hi := b.learned_per_second;
      lo := null;
      rate := 0.9 * b.learned_per_second;
    else
      -- The rate in force when the sidecars were reaching it (the bucket
      -- held a claim back within the last second); otherwise they sent
      -- less, and the guess is the better bound.
      hi := case when b.starved_at > t - interval '1 second' then b.learned_per_second
                 else least(b.learned_per_second, guess) end;
      lo := case when b.accepted_rate < hi then b.accepted_rate end;
      rate := case when lo is null then 0.9 * hi else greatest(0.5 * (lo + hi), 0.9 * lo) end;
    end if;
    update symphony.rate_limits
       set refused_rate = round(hi, 3), accepted_rate = round(lo, 3),
           learned_per_second = greatest(0.1, round(rate, 3)),
           learned_source = coalesce(learned_source, '429 responses'),
           learned_at = t, refused_at = t, raised_at = t
     where name = bucket;
  end if;
  update symphony.rate_limits
     set tokens = 0, refilled_at = t,
         paused_until = greatest(coalesce(paused_until, t), t + pause)
   where name = bucket;
end $$;

-- probe_rate_limit is asked, about once a second by each sidecar whose queue
-- the bucket holds back, whether the learned rate may rise; it does at most
-- once a second for all of them, and only while the sidecars reach the rate
-- (observed, what the provider accepted from the asking sidecar in the last
-- second, times the live sidecars, is at least 85 % of it). A rate in force
-- for a second without a 429 is the new lower bound (or what the sidecars
-- sent, if less). Then:
--
--   * with a stated limit: halfway to it (at least 1/s more);
--   * below 0.95 of the refused rate: halfway to that (at most to it);
--   * nothing refused yet: a fifth more;
--   * at 0.95 of the refused rate: held for 30 seconds after the 429, then
--     0.5 % a second, so that a raised plan is found and the limit of one
--     that was not is touched rarely.
--
-- Returns the rate in force afterwards (null: nothing learned).
create or replace function symphony.probe_rate_limit(bucket text, observed numeric) returns numeric
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  rate numeric;
begin
  update symphony.rate_limits
     -- (What the sidecars sent, if below the rate: a rate they did not reach
     -- was not accepted.)
     set accepted_rate = greatest(accepted_rate, least(learned_per_second, observed * symphony._bucket_sidecars(bucket))),
         learned_per_second = round(least(coalesce(learned_max, 'infinity'), case
           when learned_max is not null then greatest(learned_per_second + 1, 0.5 * (learned_per_second + learned_max))
           when refused_rate is null then learned_per_second * 1.2
           when learned_per_second < 0.95 * refused_rate
             then least(0.95 * refused_rate, greatest(learned_per_second + 0.1, 0.5 * (learned_per_second + refused_rate)))
           when refused_at > t - interval '30 seconds' then learned_per_second
           else learned_per_second * 1.005 end), 3),
         raised_at = t
   where name = bucket and per_second is null and learned_per_second is not null
     and learned_per_second < coalesce(learned_max, 'infinity')
     and coalesce(refused_at, '-infinity') < t - interval '1 second'
     and coalesce(raised_at, '-infinity') < t - interval '1 second'
     and starved_at > t - interval '1 second'
     and observed * symphony._bucket_sidecars(bucket) >= 0.85 * learned_per_second;
  select learned_per_second into rate from symphony.rate_limits where name = bucket;
  return rate;
end $$;

create or replace function symphony._bucket_rate(b symphony.rate_limits, out rate numeric, out burst numeric, out cap numeric)
language sql immutable set search_path = '' as $$
  select coalesce(b.per_second, b.learned_per_second),
         case when b.per_second is not null then b.burst
              else greatest(b.burst, floor(b.learned_per_second / 32)) end,
         case when b.per_second is not null then b.burst
              else greatest(b.burst, floor(b.learned_per_second / 32)) + 0.99 end
$$;

-- A new stated limit also forgets the search's lower bound.
create or replace function symphony.learn_rate_limit(bucket text, stated numeric, source text) returns boolean
language plpgsql set search_path = '' as $$
declare
  target numeric := round(least(stated * 0.97, stated - 1), 3);
begin
  if stated is null or stated <= 0 then
    return false;
  end if;
  update symphony.rate_limits
     set learned_max = target, learned_per_second = target, learned_source = source,
         learned_at = clock_timestamp(), refused_rate = null, accepted_rate = null
   where name = bucket
     and (learned_max is null or abs(learned_max - target) > learned_max * 0.01
          or learned_source is distinct from source);
  return found;
end $$;

revoke all on function symphony._bucket_rate(symphony.rate_limits), symphony.learn_rate_limit(text, numeric, text), symphony.rate_refused(text, numeric, interval),
  symphony.probe_rate_limit(text, numeric) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony._bucket_rate(symphony.rate_limits), '
        'symphony.learn_rate_limit(text, numeric, text), '
        'symphony.rate_refused(text, numeric, interval), symphony.probe_rate_limit(text, numeric) from %I', r);
    end if;
  end loop;
end $$;
