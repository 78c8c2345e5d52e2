-- A batch a retry could not repeat exactly (a member was held by another
-- sidecar, finished, suppressed since, or changed) is abandoned: no later
-- retry repeats it, and its members go out in new requests, flagged
-- possible_duplicate when the abandoned request may have been accepted.
alter table symphony.provider_batches drop constraint provider_batches_outcome_check;
alter table symphony.provider_batches add constraint provider_batches_outcome_check
  check (outcome in ('answered', 'failed', 'abandoned'));
comment on column symphony.provider_batches.outcome is
  'null: not answered yet (a retry repeats the request under the same key); answered: per-member results written; failed: the request as a whole failed for good; abandoned: a retry could not repeat it, its members went out in new requests.';
