-- Rate limits learned from the provider.
--
-- A provider states its limit in its answers (Resend's ratelimit-* headers,
-- SendGrid's X-RateLimit-*), or only refuses with 429 (Postmark, Twilio's
-- 20429). Sidecars record what they learn here, in the bucket every sidecar
-- draws from, so that all of them together keep to it. The operator's
-- per_second, when set, still wins: the learned rate is then only shown.
--
-- learned_max is the provider's stated rate less a margin (5 %, and at least
-- one request a second): the sidecars' sends reach the provider a few
-- milliseconds apart from their tokens, and a provider counts in windows that
-- do not line up with ours. learned_per_second is the rate in force:
-- learned_max, or below it after 429s.
--
-- Rate limits learned from 429s are a search between two bounds, not a climb.
-- A provider that states no limit (Postmark, Twilio's 20429) only refuses.
-- The sidecars paced evenly at a rate the provider accepts for a whole
-- second know that rate is allowed; a rate it refused is too much. The
-- learned rate now moves between those two bounds by halving the gap
-- (accepted_rate below, refused_rate above) and holds at 0.95 of the refused
-- rate, where the earlier climb by 5 % a second overshot the limit every few
-- seconds and spent a window's tail each time (2-4 % of the requests
-- refused with two sidecars at 100/s).
--
-- Such a bucket now lets a claim take 5 % of a second's tokens at once, as a
-- stated one does (below): with one token a claim, two sidecars at 93/s sent
-- 73/s (a claim late for its token on a busy machine lost it). 0.95 of the
-- refused rate plus those 5 % keeps any second at the refused rate.
--
-- A provider that states its limit is believed: a 429 there (a window that
-- other senders on the account share, or requests bunched by a stalled
-- machine) lowers the rate to 0.9 of itself for a moment, and probes go back
-- to the stated rate less its margin. Before, the refused rate was taken from
-- one sidecar's count of the last second, and one early 429 held a stated
-- 100/s at 79.5/s for good.
alter table symphony.rate_limits
  add column learned_per_second numeric check (learned_per_second > 0),
  add column learned_max        numeric check (learned_max > 0),
  add column learned_source     text,
  add column learned_at         timestamptz constraint rate_limits_learned_at_finite check (isfinite(learned_at)),
  add column refused_rate       numeric,
  add column refused_at         timestamptz constraint rate_limits_refused_at_finite check (isfinite(refused_at)),
  add column raised_at          timestamptz constraint rate_limits_raised_at_finite check (isfinite(raised_at)),
  add column starved_at         timestamptz constraint rate_limits_starved_at_finite check (isfinite(starved_at)),
  add column accepted_rate      numeric check (accepted_rate > 0);
comment on column symphony.rate_limits.learned_per_second is
  'Rate learned from the provider (requests per second), in force unless per_second is set.';
comment on column symphony.rate_limits.learned_max is
  'The provider''s stated rate less a margin of 5 % (at least 1/s); null when it states none.';
comment on column symphony.rate_limits.learned_source is
  'Where learned_per_second comes from, e.g. "resend ratelimit-limit header" or "429 responses".';
comment on column symphony.rate_limits.refused_rate is
  'learned_per_second when the provider last answered 429 (null: unknown, the bucket was unlimited then).';
comment on column symphony.rate_limits.starved_at is
  'When a claim last got fewer tokens than it wanted: the limit may be what holds the queue back.';
comment on column symphony.rate_limits.accepted_rate is
  'The highest learned rate held for a second without a 429 since the provider last refused: the search''s lower bound.';

-- A learned bucket now holds up to 5 % of a second's tokens and grants them
-- to one claim at once (was 3 %, and 1 token for a bucket learned from
-- 429s), and a stated limit is held at 0.95 of itself (was 0.97): any second
-- still stays within the stated limit (0.95 + 0.05), and a claim may come up
-- to 3 % of a second late for its tokens (on a busy machine, often) without
-- losing any. With a token or two of slack, two sidecars paced at 97/s sent
-- 84/s.
create function symphony._bucket_rate(b symphony.rate_limits, out rate numeric, out burst numeric, out cap numeric)
language sql immutable set search_path = '' as $$
  select coalesce(b.per_second, b.learned_per_second),
         case when b.per_second is not null then b.burst
              else greatest(b.burst, floor(b.learned_per_second / 20)) end,
         case when b.per_second is not null then b.burst
              else greatest(b.burst, floor(b.learned_per_second / 20)) + 0.99 end
$$;

-- take_tokens as in the first schema, but a claim of a learned bucket that the tokens
-- bounded waits for half a grant's tokens (at least one), not the next one:
-- a claim a token made 100 statements a second for two sidecars at 100/s.
create or replace function symphony.take_tokens(bucket text, wanted integer, out granted integer, out wait_ms integer)
language plpgsql set search_path = '' as $$
declare
  b symphony.rate_limits;
  r record;
  t timestamptz := clock_timestamp();
  avail numeric;
  next numeric;
begin
  select * into b from symphony.rate_limits where name = bucket for update;
  if found then
    r := symphony._bucket_rate(b);
  end if;
  if not found or r.rate is null then
    granted := wanted; wait_ms := 0;
    return;
  end if;
  if b.paused_until > t then
    granted := 0; wait_ms := ceil(extract(epoch from b.paused_until - t) * 1000);
    return;
  end if;
  avail := least(r.cap, b.tokens + extract(epoch from t - b.refilled_at) * r.rate);
  granted := greatest(0, least(wanted, r.burst, floor(avail)))::integer;
  update symphony.rate_limits
     set tokens = avail - granted, refilled_at = t,
         starved_at = case when granted < wanted then t else starved_at end
   where name = bucket;
  -- When the bucket, not the want, bounded the grant of a learned rate: how
  -- long until the next claim's tokens, so that the claimer keeps pace with
  -- the bucket. An operator's bucket says so only when it granted nothing, as
  -- it always did (its claimers then wait for a free slot, a little under
  -- pace), and then for one token.
  next := case when b.per_second is null then least(wanted - granted, ceil(r.burst / 2)) else 1 end;
  wait_ms := case when granted >= wanted or (granted > 0 and b.per_second is not null) then 0
                  else ceil(greatest(0, next - (avail - granted)) / r.rate * 1000) end;
end $$;

create or replace function symphony.give_tokens(bucket text, n integer) returns void
language sql set search_path = '' as $$
  update symphony.rate_limits b set tokens = least((symphony._bucket_rate(b)).cap, tokens + n)
   where name = bucket and coalesce(per_second, learned_per_second) is not null and n > 0
$$;

-- learn_rate_limit records the rate a provider states (requests per second),
-- held at 0.95 of it (see _bucket_rate), and returns whether anything
-- changed. A new statement resets what 429s taught (both bounds of the
-- search); the same statement again changes nothing.
create function symphony.learn_rate_limit(bucket text, stated numeric, source text) returns boolean
language plpgsql set search_path = '' as $$
declare
  target numeric := round(least(stated * 0.95, stated - 1), 3);
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

-- _bucket_sidecars counts the live sidecars serving a queue that draws from
-- bucket: what one of them sees, times this, is a guess at all of them.
create function symphony._bucket_sidecars(bucket text) returns integer
language sql stable set search_path = '' as $$
  select greatest(1, count(*))::integer
    from symphony.workers w
   where w.stopped_at is null and w.heartbeat_at > now() - interval '1 minute'
     and exists (select 1 from symphony.queues q where q.rate_limit = bucket and w.queues ? q.name)
$$;

-- rate_refused records a 429: the bucket pauses for pause and, at most once a
-- second, the learned rate falls.
--
--   * No rate yet (the sidecars were unpaced): the sidecars' rate is guessed
--     as observed (what the provider accepted from the refused sidecar in the
--     last second) times the live sidecars on the bucket. A provider counting
--     in windows of a second let through up to two windows' worth in that
--     second, so the rate starts at 0.6 of the guess (at most 1.2 times the
--     limit). The guess bounds nothing: when the sidecars started apart, one
--     of them had seen a sixth of the limit accepted, and a bound there held
--     the rate at a third of the limit. So probes raise it by 30 % a second
--     until a paced rate is refused.
--   * A stated limit: 0.9 of the rate in force; probes return to the stated
--     rate less its margin.
--   * Otherwise the rate in force (or, if the bucket held nothing back
--     lately, the guess, when less, but not below half the rate: one
--     sidecar's count is a rough guess) was refused: it becomes the upper bound, and the rate goes halfway
--     between the bounds, or to 0.9 of the refused rate without a lower one.
create function symphony.rate_refused(bucket text, observed numeric, pause interval) returns void
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
      hi := null;
      lo := null;
      rate := 0.6 * guess;
    elsif b.learned_max is not null then
      hi := b.learned_per_second;
      lo := null;
      rate := 0.9 * b.learned_per_second;
    else
      -- The rate in force when the sidecars were reaching it (the bucket
      -- held a claim back within the last second); otherwise they sent
      -- less, and the guess is the better bound.
      hi := case when b.starved_at > t - interval '1 second' then b.learned_per_second
                 else greatest(0.5 * b.learned_per_second, least(b.learned_per_second, guess)) end;
      -- An accepted rate within a tenth of one refused now is suspect (a
      -- rate the sidecars did not quite reach, or a split between them
      -- that flattered one sidecar's count): the search starts over below.
      lo := case when b.accepted_rate < 0.9 * hi then b.accepted_rate end;
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
--   * below 0.95 of the refused rate: halfway to the refused rate, but by a
--     fifth at most (the first guess at it may be twice the limit) and to
--     0.95 of it at most;
--   * nothing refused while paced yet: 30 % more;
--   * at 0.95 of the refused rate: held for 30 seconds after the 429, then
--     0.5 % a second, so that a raised plan is found and the limit of one
--     that was not is touched rarely.
--
-- Returns the rate in force afterwards (null: nothing learned).
create function symphony.probe_rate_limit(bucket text, observed numeric) returns numeric
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
           when refused_rate is null then learned_per_second * 1.3
           when learned_per_second < 0.95 * refused_rate
             then least(0.95 * refused_rate, 1.2 * learned_per_second,
                        greatest(learned_per_second + 0.1, 0.5 * (learned_per_second + refused_rate)))
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

-- Sidecars claim through a bucket only while it has a rate: tell them when a
-- learned rate appears (or goes).
create trigger rate_limits_learned after update of learned_per_second on symphony.rate_limits
  for each row when ((old.learned_per_second is null) is distinct from (new.learned_per_second is null))
  execute function symphony.limits_changed();

revoke all on function symphony._bucket_rate(symphony.rate_limits), symphony.learn_rate_limit(text, numeric, text),
  symphony._bucket_sidecars(text), symphony.rate_refused(text, numeric, interval),
  symphony.probe_rate_limit(text, numeric) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony._bucket_rate(symphony.rate_limits), '
        'symphony.learn_rate_limit(text, numeric, text), symphony._bucket_sidecars(text), '
        'symphony.rate_refused(text, numeric, interval), symphony.probe_rate_limit(text, numeric) from %I', r);
    end if;
  end loop;
end $$;
