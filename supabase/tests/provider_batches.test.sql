-- provider_batches: what a batch request contained, recorded before the call.
begin;
create extension if not exists pgtap;
select plan(10);

select has_table('symphony', 'provider_batches', 'the batch record exists');
select lives_ok($$insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids)
  values ('resend', 'bulk', 'symphony-x-batch-1', '{3,1,2}')$$, 'a batch is recorded with its members in request order');
select results_eq($$select message_ids from symphony.provider_batches where idempotency_key = 'symphony-x-batch-1'$$,
  $$values ('{3,1,2}'::bigint[])$$, 'the members keep their order');
select throws_ok($$insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids)
  values ('resend', 'bulk', 'symphony-x-batch-1', '{4}')$$, '23505', null, 'a key names one batch');
select throws_ok($$insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids)
  values ('resend', 'bulk', 'symphony-x-batch-2', '{}')$$, '23514', null, 'an empty batch is refused');
select throws_like($$insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids, called_at)
  values ('resend', 'bulk', 'symphony-x-batch-3', '{5}', 'infinity')$$, '%provider_batches_called_at_finite%',
  'called_at must be finite');

-- A retry that cannot repeat a batch abandons it; no other outcome is taken.
select lives_ok($$update symphony.provider_batches set outcome = 'abandoned', finished_at = now()
  where idempotency_key = 'symphony-x-batch-1'$$, 'a batch may be abandoned');
select throws_ok($$update symphony.provider_batches set outcome = 'lost' where idempotency_key = 'symphony-x-batch-1'$$,
  '23514', null, 'an unknown outcome is refused');
-- docs/providers.md, "Exactly once": a message's batches, as written there.
select lives_ok($$select id, provider, outcome, attempts, cardinality(message_ids) as members, called_at, finished_at
  from symphony.provider_batches
 where message_ids @> array[42::bigint]
 order by id$$, 'the recipe for a message''s batches runs as written');
select results_eq($$select provider, outcome, cardinality(message_ids) from symphony.provider_batches
 where message_ids @> array[1::bigint] order by id$$,
  $$values ('resend'::text, 'abandoned'::text, 3)$$, 'and finds the batch a message was in');

select * from finish();
rollback;
