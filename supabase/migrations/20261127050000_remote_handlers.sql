-- Kinds handled outside the sidecar: a Supabase Edge Function or any webhook.
--
--   select symphony.register_kind('report.build', 'default', 5, 'edge_function', '{"function": "build-report"}');
--   select symphony.register_kind('crm.sync', 'default', 8, 'webhook', '{"url": "https://crm.example.com/hooks/symphony"}');
--
-- The sidecar POSTs {id, kind, attempt, max_attempts, subject, payload, meta}
-- with an Idempotency-Key that is the same on every attempt. Edge Functions get
-- the service-role key as Bearer token (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY
-- in the sidecar's environment); webhooks are signed with SYMPHONY_WEBHOOK_SECRET.
-- Credentials never go in symphony.kinds.config.

alter table symphony.kinds
  add constraint kinds_handler_known
    check (handler in ('builtin', 'edge_function', 'webhook')),
  add constraint kinds_edge_function_config
    check (handler <> 'edge_function' or coalesce(config ->> 'function', '') ~ '^[A-Za-z0-9_-]{1,128}$'),
  add constraint kinds_webhook_config
    check (handler <> 'webhook' or coalesce(config ->> 'url', '') ~ '^https?://[^\s/]+'),
  -- A credential in a row would be readable by every role that reads kinds.
  add constraint kinds_config_has_no_secrets
    check (not (config ?| array['authorization', 'Authorization', 'token', 'secret', 'api_key', 'apikey', 'password', 'headers']));

comment on column symphony.kinds.handler is
  'builtin (email.send, sms.send, …), edge_function (config {"function": name}) or webhook (config {"url": …}).';

-- Sidecars reload remote kinds when the table changes.
create function symphony.kinds_changed() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform pg_notify('symphony_flags', 'kinds');
  return null;
end $$;
create trigger kinds_changed after insert or update or delete on symphony.kinds
  for each statement execute function symphony.kinds_changed();

revoke all on function symphony.kinds_changed() from public;
