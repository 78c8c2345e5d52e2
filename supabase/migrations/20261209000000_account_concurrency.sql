-- A provider whose limit is on requests in flight, not requests a second:
-- Twilio (sidecar/worker/concurrency.go).
--
-- Twilio's 429 (error 20429) says the account has too many concurrent REST
-- requests, and every answer of its REST API says how many the account had
-- in flight (Twilio-Concurrent-Requests, counting the request answered).
-- The sidecars read these 429s as a rate limit, which Twilio does not have:
-- against a fake allowing 20 requests in flight, answering in 100 ms (so at
-- most 200 a second), two sidecars sent 65 a second. The first 429 came
-- while slow start was still small, the rate began at 8 a second and took
-- the whole run to climb, and a rate is the wrong bound anyway: at a given
-- rate the requests in flight grow with the provider's latency.
--
-- So the account's concurrency is learned instead, for every sidecar:
--   - learned_concurrency: a 429 whose answer counted more requests in flight
--     than any accepted answer lately did is the limit (rate_concurrency):
--     the requests in flight it counted, less itself. Each live sidecar on
--     the bucket runs at most its share of it (_concurrency_share). A 429 that
--     counted no more than accepted answers did is not about concurrency,
--     and changes nothing but its message's next try.
--   - concurrency: the operator's, which wins over the learned one (as
--     per_second does over a learned rate): during a migration the
--     application's own sender holds some of the account's requests in
--     flight, and the sidecars should take only the rest.
--   - concurrency_refused_at, concurrency_raised_at: while the share holds a
--     sidecar's queue back, the concurrency rises by a twentieth (at least
--     one) at most once a second, from 30 seconds after the last 429 that
--     set it (probe_concurrency): an account whose limit was raised is
--     followed, and one that was not is touched about twice a minute.
alter table symphony.rate_limits
  add column concurrency integer constraint rate_limits_concurrency_positive check (concurrency > 0),
  add column learned_concurrency integer constraint rate_limits_learned_concurrency_positive check (learned_concurrency > 0),
  add column concurrency_refused_at timestamptz
    constraint rate_limits_concurrency_refused_at_finite check (isfinite(concurrency_refused_at)),
  add column concurrency_raised_at timestamptz
    constraint rate_limits_concurrency_raised_at_finite check (isfinite(concurrency_raised_at));
comment on column symphony.rate_limits.concurrency is
  'The operator''s limit on the requests the provider''s account may have in flight, which every live sidecar on the bucket splits; wins over learned_concurrency. Null: none set.';
comment on column symphony.rate_limits.learned_concurrency is
  'Requests the provider''s account may have in flight, learned from its 429s (Twilio''s 20429 with Twilio-Concurrent-Requests); every live sidecar on the bucket runs at most its share. Null: none learned. See rate_concurrency.';
comment on column symphony.rate_limits.concurrency_refused_at is
  'When a 429 over the account''s concurrency last set learned_concurrency.';
comment on column symphony.rate_limits.concurrency_raised_at is
  'When probe_concurrency last raised learned_concurrency.';

-- The live sidecars on a bucket, in one place: _bucket_sidecars counts them
-- (as it did), and _concurrency_share splits a learned concurrency between
-- them.
create function symphony._bucket_workers(bucket text) returns setof text
language sql stable set search_path = '' as $$
  select w.id
    from symphony.workers w
   where w.stopped_at is null and w.heartbeat_at > now() - interval '1 minute'
     and exists (select 1 from symphony.queues q where q.rate_limit = bucket and w.queues ? q.name)
$$;
create or replace function symphony._bucket_sidecars(bucket text) returns integer
language sql stable set search_path = '' as $$
  select greatest(1, count(*))::integer from symphony._bucket_workers(bucket)
$$;

-- _concurrency_share is how many requests worker may have in flight through
-- bucket: the concurrency in force (the operator's, else the learned one)
-- split evenly between the live sidecars on it, the first ones by id taking
-- one more each while the split leaves some over, at least one each. 0:
-- neither is set.
create function symphony._concurrency_share(bucket text, worker text) returns integer
language sql stable set search_path = '' as $$
  select case when c.n is null then 0
              else greatest(1, c.n / n.sidecars + case when n.before < c.n % n.sidecars then 1 else 0 end) end
    from symphony.rate_limits r,
         lateral (select coalesce(r.concurrency, r.learned_concurrency) as n) c,
         lateral (select greatest(1, count(*))::integer as sidecars, count(*) filter (where id < worker)::integer as before
                    from symphony._bucket_workers(bucket) id) n
   where r.name = bucket
$$;

-- rate_concurrency records a 429 over the account's concurrency: in_flight
-- is the requests in flight the provider counted for it, itself included, so
-- the limit is one less. The 429s of one burst (less than a second after
-- the last) count the refused ones in flight too, so the lowest count of the
-- burst is the limit. Returns the learned concurrency.
create function symphony.rate_concurrency(bucket text, in_flight integer) returns integer
language sql set search_path = '' as $$
  update symphony.rate_limits
     set learned_concurrency =
           case when learned_concurrency is not null and concurrency_refused_at > clock_timestamp() - interval '1 second'
                then least(learned_concurrency, greatest(1, in_flight - 1))
                else greatest(1, in_flight - 1) end,
         concurrency_refused_at = clock_timestamp()
   where name = bucket
  returning learned_concurrency
$$;
comment on function symphony.rate_concurrency(text, integer) is
  'Record a 429 over the provider account''s concurrency limit, in_flight being the requests in flight the provider counted for it (the sidecar calls it); returns the limit learned (see the migration that defines it).';

-- probe_concurrency raises the learned concurrency of bucket by a twentieth
-- (at least one), at most once a second and not within 30 seconds of the
-- last 429 that set it, and never under an operator's. A sidecar calls it
-- while its share holds its queue back. Returns the learned concurrency
-- (null: none).
create function symphony.probe_concurrency(bucket text) returns integer
language plpgsql set search_path = '' as $$
declare
  t timestamptz := clock_timestamp();
  c integer;
begin
  update symphony.rate_limits
     set learned_concurrency = learned_concurrency + greatest(1, learned_concurrency / 20), concurrency_raised_at = t
   where name = bucket and learned_concurrency is not null and concurrency is null
     and coalesce(concurrency_refused_at, '-infinity') < t - interval '30 seconds'
     and coalesce(concurrency_raised_at, '-infinity') < t - interval '1 second';
  select learned_concurrency into c from symphony.rate_limits where name = bucket;
  return c;
end $$;
comment on function symphony.probe_concurrency(text) is
  'Raise the learned concurrency of bucket a step, at most once a second and not within 30 s of a 429 that set it (the sidecar calls it while its share holds a queue back).';

-- Each sidecar runs its share of the learned concurrency: tell them when it
-- changes.
create trigger rate_limits_concurrency after update of concurrency, learned_concurrency on symphony.rate_limits
  for each row when (old.concurrency is distinct from new.concurrency
                     or old.learned_concurrency is distinct from new.learned_concurrency)
  execute function symphony.limits_changed();

-- Functions in the symphony schema are the sidecar's and the operator's, not
-- the API's: Supabase's default privileges grant anon, authenticated and
-- service_role EXECUTE on every new function. Each migration that added
-- functions revoked them with a block of its own; this one and those after
-- call _revoke_from_api_roles instead.
create function symphony._revoke_from_api_roles(functions text) returns void
language plpgsql set search_path = '' as $$
declare
  r text;
begin
  execute format('revoke all on function %s from public', functions);
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function %s from %I', functions, r);
    end if;
  end loop;
end $$;
comment on function symphony._revoke_from_api_roles(text) is
  'Revoke EXECUTE on the functions listed (signatures, comma-separated) from PUBLIC and Supabase''s API roles; migrations call it for each function they add.';
select symphony._revoke_from_api_roles('symphony._revoke_from_api_roles(text)');
select symphony._revoke_from_api_roles('symphony._bucket_workers(text), symphony._concurrency_share(text, text), '
  'symphony.rate_concurrency(text, integer), symphony.probe_concurrency(text)');
