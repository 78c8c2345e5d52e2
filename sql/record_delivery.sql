-- Record a batch of provider delivery events (one webhook request) in one
-- statement; returns each event's outcome in the order given. Each row is
-- (provider, provider_message_id, provider_event, status, recipient, reason,
-- occurred_at, suppress, event_key, raw); symphony.record_delivery says what
-- each outcome means (opt-outs and opt-ins: symphony.apply_opt_event). Callers
-- sort the batch by provider_message_id, so two concurrent batches lock shared
-- messages in the same order.
select d.outcome
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::timestamptz[], $8::text[], $9::text[], $10::text[])
       with ordinality as r(provider, provider_message_id, provider_event, status, recipient, reason,
                            occurred_at, suppress, event_key, raw, n)
 cross join lateral symphony.record_delivery(r.provider, r.provider_message_id, r.provider_event, r.status,
       r.recipient, r.reason, r.occurred_at, r.suppress, r.event_key, r.raw::jsonb) as d(outcome)
 order by r.n
