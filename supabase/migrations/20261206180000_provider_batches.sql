-- Batch requests to a provider's batch endpoint (Resend POST /emails/batch,
-- Postmark POST /email/batch).
--
-- A sidecar records what a batch contains before it calls the provider: the
-- member message ids, in request order, and the idempotency key the request
-- carries. A retry of the batch, by the same sidecar or another after a crash,
-- a timeout, a 5xx or a kill -9, reads this row and repeats the same request
-- under the same key, so a provider that honours the key (Resend, per request)
-- answers the original result instead of sending again. Where the provider
-- takes no key (Postmark), the members of a batch whose answer was lost are
-- flagged maybe_sent, as a single send's are.
--
-- A batch a retry could not repeat exactly (a member was held by another
-- sidecar, finished, suppressed since, or changed) is abandoned: no later
-- retry repeats it, and its members go out in new requests, flagged
-- possible_duplicate when the abandoned request may have been accepted.
create table symphony.provider_batches (
  id              bigint generated always as identity primary key,
  provider        text not null check (provider ~ '^[a-z][a-z0-9_]{0,62}$'),
  queue           text not null,
  idempotency_key text not null unique check (length(idempotency_key) between 1 and 256),
  message_ids     bigint[] not null
                  check (cardinality(message_ids) between 1 and 500 and array_position(message_ids, null) is null),
  attempts        integer not null default 0 check (attempts >= 0),
  created_at      timestamptz not null default clock_timestamp()
                  constraint provider_batches_created_at_finite check (isfinite(created_at)),
  called_at       timestamptz constraint provider_batches_called_at_finite check (isfinite(called_at)),
  finished_at     timestamptz constraint provider_batches_finished_at_finite check (isfinite(finished_at)),
  outcome         text constraint provider_batches_outcome_check check (outcome in ('answered', 'failed', 'abandoned'))
);
comment on table symphony.provider_batches is
  'Batch requests to a provider batch endpoint: members and idempotency key, recorded before the first call so a retry repeats the same request.';
comment on column symphony.provider_batches.message_ids is
  'Member message ids in request order (the provider answers per index).';
comment on column symphony.provider_batches.outcome is
  'null: not answered yet (a retry repeats the request under the same key); answered: per-member results written; failed: the request as a whole failed for good; abandoned: a retry could not repeat it, its members went out in new requests.';
-- A retried member finds the batch it was in.
create index provider_batches_message_ids_idx on symphony.provider_batches using gin (message_ids);
create index provider_batches_created_at_idx on symphony.provider_batches (created_at);

-- As every symphony table: readable by service_role (the dashboard, support
-- queries), nothing for anon and authenticated.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on symphony.provider_batches from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.provider_batches to service_role;
  end if;
end
$$;
