-- Rate limits learned from the provider.
--
-- A provider states its limit in its answers (Resend's ratelimit-* headers,
-- SendGrid's X-RateLimit-*), or only refuses with 429 (Postmark, Twilio's
-- 20429). Sidecars record what they learn here, in the bucket every sidecar
-- draws from, so that all of them together keep to it. The operator's
-- per_second, when set, still wins: the learned rate is then only shown.
--
-- learned_max is the provider's stated rate less a margin (3 %, and at least
-- one request a second: the sidecars'
-- sends reach the provider a few milliseconds apart from their tokens, and a
-- provider counts in windows that do not line up with ours). learned_per_second
-- is the rate in force: learned_max, or below it after 429s. After each 429 it
-- falls to 0.9 of what was in force (once a second at most, however many
-- sidecars saw the 429), and while the bucket is the bottleneck it rises
-- again: quickly up to 0.97 of the rate that was refused, and 30 seconds
-- after the 429 by 0.5 % a second, so that a limit that was raised is found,
-- and one that was not is touched rarely.
alter table symphony.rate_limits
  add column learned_per_second numeric check (learned_per_second > 0),
  add column learned_max        numeric check (learned_max > 0),
  add column learned_source     text,
  add column learned_at         timestamptz constraint rate_limits_learned_at_finite check (isfinite(learned_at)),
  add column refused_rate       numeric,
  add column refused_at         timestamptz constraint rate_limits_refused_at_finite check (isfinite(refused_at)),
  add column raised_at          timestamptz constraint rate_limits_raised_at_finite check (isfinite(raised_at)),
  add column starved_at         timestamptz constraint rate_limits_starved_at_finite check (isfinite(starved_at));
comment on column symphony.rate_limits.learned_per_second is
  'Rate learned from the provider (requests per second), in force unless per_second is set.';
comment on column symphony.rate_limits.learned_max is
  'The provider''s stated rate less a margin of 3 % (at least 1/s); null when it states none.';
comment on column symphony.rate_limits.learned_source is
  'Where learned_per_second comes from, e.g. "resend ratelimit-limit header" or "429 responses".';
comment on column symphony.rate_limits.refused_rate is
  'learned_per_second when the provider last answered 429 (null: unknown, the bucket was unlimited then).';
comment on column symphony.rate_limits.starved_at is
  'When a claim last got fewer tokens than it wanted: the limit may be what holds the queue back.';

-- The rate in force, the most tokens one claim may take, and the most the
-- bucket holds. An operator's bucket keeps the burst the operator set. A
-- learned one's burst is the margin below the stated rate (3 %, so that any
-- second's tokens stay within the stated limit; 1 when the provider states
-- none: measured with a fake counting in one-second windows, bursts of 3 at
-- 0.97 of the refused rate drew more 429s than they saved),
-- second's tokens stay within the stated limit), and it also keeps the
-- fraction of a token beyond it: a claim that comes a little late for its
-- token loses nothing, yet a second never holds a whole token more.
create function symphony._bucket_rate(b symphony.rate_limits, out rate numeric, out burst numeric, out cap numeric)
language sql immutable set search_path = '' as $$
  select coalesce(b.per_second, b.learned_per_second),
         case when b.per_second is not null then b.burst
              when b.learned_max is null then 1
              else greatest(b.burst, floor(b.learned_per_second / 32)) end,
         case when b.per_second is not null then b.burst
              when b.learned_max is null then 1.99
              else greatest(b.burst, floor(b.learned_per_second / 32)) + 0.99 end
$$;

create or replace function symphony.take_tokens(bucket text, wanted integer, out granted integer, out wait_ms integer)
language plpgsql set search_path = '' as $$
declare
  b symphony.rate_limits;
  r record;
  t timestamptz := clock_timestamp();
  avail numeric;
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
  -- long until the next token, so that the claimer keeps pace with the
  -- bucket. An operator's bucket says so only when it granted nothing, as it
  -- always did (its claimers then wait for a free slot, a little under pace).
  wait_ms := case when granted >= wanted or (granted > 0 and b.per_second is not null) then 0
                  else ceil((1 - (avail - granted)) / r.rate * 1000) end;
end $$;

create or replace function symphony.give_tokens(bucket text, n integer) returns void
language sql set search_path = '' as $$
  update symphony.rate_limits b set tokens = least((symphony._bucket_rate(b)).cap, tokens + n)
   where name = bucket and coalesce(per_second, learned_per_second) is not null and n > 0
$$;

-- learn_rate_limit records the rate a provider states (requests per second)
-- and returns whether anything changed. A new statement resets what 429s
-- taught; the same statement again changes nothing.
create function symphony.learn_rate_limit(bucket text, stated numeric, source text) returns boolean
language plpgsql set search_path = '' as $$
declare
  target numeric := round(least(stated * 0.97, stated - 1), 3);
begin
  if stated is null or stated <= 0 then
    return false;
  end if;
  update symphony.rate_limits
     set learned_max = target, learned_per_second = target, learned_source = source,
         learned_at = clock_timestamp(), refused_rate = null
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

-- rate_refused records a 429: the rate in force falls to 0.9 of itself, at
-- most once a second, and the bucket pauses for pause. When the bucket had no
-- rate yet, the sidecars' rate is guessed as observed (what the provider
-- accepted from the refused sidecar in the last second) times the live
-- sidecars serving the bucket's queues. A provider counting in windows of a
-- second may have let through up to twice its limit in the last second (the
-- end of one window and the start of the next), so the rate starts at half
-- that guess: between 0.5 and 1 of the limit; probes raise it (by a fifth a
-- second until a rate has been refused), 429s lower it.
create function symphony.rate_refused(bucket text, observed numeric, pause interval) returns void
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  guess numeric := greatest(observed, 1) * symphony._bucket_sidecars(bucket);
begin
  -- The sidecars may send below the bucket's rate: what was refused is the
  -- lower of the two.
  update symphony.rate_limits
     -- (least() skips nulls: a bucket without a rate keeps refused_rate null.)
     set refused_rate = case when learned_per_second is not null then least(learned_per_second, guess) end,
         learned_per_second = greatest(0.1, round(case when learned_per_second is null then 0.5 * guess
                                                       else 0.9 * least(learned_per_second, guess) end, 3)),
         learned_source = coalesce(learned_source, '429 responses'),
         learned_at = t, refused_at = t
   where name = bucket and coalesce(refused_at, '-infinity') < t - interval '1 second'
     -- A 429 right after a stated limit was learned answers what was sent
     -- before the pacing began.
     and (learned_max is null or learned_at < t - interval '1 second');
  update symphony.rate_limits
     set tokens = 0, refilled_at = t,
         paused_until = greatest(coalesce(paused_until, t), t + pause)
   where name = bucket;
end $$;

-- probe_rate_limit raises a learned rate that holds its queue back and has not
-- been refused for 2 seconds, once a second however many sidecars ask.
-- observed is what the provider accepted from the asking sidecar in the last
-- second: a rate the sidecars do not reach (times the live sidecars, at least
-- 85 % of it) is not holding them back. Returns the rate in force afterwards
-- (null: nothing learned).
create function symphony.probe_rate_limit(bucket text, observed numeric) returns numeric
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  rate numeric;
begin
  update symphony.rate_limits
     set learned_per_second = round(least(coalesce(learned_max, 'infinity'), case
           when refused_rate is null then learned_per_second * 1.2
           when learned_per_second < 0.97 * refused_rate then least(0.97 * refused_rate, learned_per_second * 1.05)
           -- Just under the rate last refused: stay a while before trying it.
           when refused_at > t - interval '30 seconds' then learned_per_second
           else learned_per_second * 1.005 end), 3),
         raised_at = t
   where name = bucket and per_second is null and learned_per_second is not null
     and learned_per_second < coalesce(learned_max, 'infinity')
     and coalesce(refused_at, '-infinity') < t - interval '2 seconds'
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
