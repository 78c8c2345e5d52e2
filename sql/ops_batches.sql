-- Batch requests of the last $1 seconds per queue and provider, for the
-- dashboard's campaigns page: requests, the emails they carried, and how they
-- stand (answered; not answered yet: in flight, or to be repeated under the
-- same key; failed or abandoned: their members went out again alone). Reads the
-- window through provider_batches_created_at_idx.
select queue, provider,
       count(*)::bigint as requests,
       sum(cardinality(message_ids))::bigint as messages,
       count(*) filter (where outcome = 'answered')::bigint as answered,
       count(*) filter (where outcome is null)::bigint as unanswered,
       count(*) filter (where outcome in ('failed', 'abandoned'))::bigint as failed
  from symphony.provider_batches
 where created_at > now() - $1::integer * interval '1 second'
 group by queue, provider
 order by queue, provider
