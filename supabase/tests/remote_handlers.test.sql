-- Kinds handled by an Edge Function or a webhook: what register_kind accepts.
begin;
create extension if not exists pgtap;
select plan(7);

select lives_ok($$select symphony.register_kind('report.build', 'default', 5, 'edge_function', '{"function": "build-report"}')$$,
  'an Edge Function kind registers');
select lives_ok($$select symphony.register_kind('crm.sync', 'default', 5, 'webhook', '{"url": "https://crm.example.com/hook"}')$$,
  'a webhook kind registers');
select throws_like($$select symphony.register_kind('x.a', 'default', 5, 'lambda', '{}')$$,
  '%kinds_handler_known%', 'an unknown handler is refused');
select throws_like($$select symphony.register_kind('x.b', 'default', 5, 'edge_function', '{}')$$,
  '%kinds_edge_function_config%', 'an Edge Function kind needs a function name');
select throws_like($$select symphony.register_kind('x.c', 'default', 5, 'webhook', '{"url": "ftp://x"}')$$,
  '%kinds_webhook_config%', 'a webhook kind needs an http(s) URL');
select throws_like($$select symphony.register_kind('x.d', 'default', 5, 'webhook', '{"url": "https://x.test", "headers": {"Authorization": "Bearer k"}}')$$,
  '%kinds_config_has_no_secrets%', 'credentials in a kind''s config are refused');
select ok((select count(*) = 1 from pg_trigger where tgname = 'kinds_changed' and tgrelid = 'symphony.kinds'::regclass),
  'sidecars are told when kinds change');

select * from finish();
rollback;
