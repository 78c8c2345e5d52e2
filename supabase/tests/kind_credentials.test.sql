-- Credentials stay out of symphony.kinds.config whatever their spelling or
-- depth: every role that reads kinds would read them.
begin;
create extension if not exists pgtap;
select plan(14);

set local role service_role;

select throws_like(format($$select symphony.register_kind('x.k', 'default', 5, 'webhook', %L)$$, c),
  '%kinds_config_has_no_secrets%', 'refused: ' || c)
  from unnest(array[
    '{"url": "https://x.test", "Token": "abc"}',
    '{"url": "https://x.test", "API_KEY": "abc"}',
    '{"url": "https://x.test", "bearer": "abc"}',
    '{"url": "https://x.test", "Authorization": "Bearer abc"}',
    '{"url": "https://x.test", "x-api-key": "abc"}',
    '{"url": "https://x.test", "client_secret": "abc"}',
    '{"url": "https://x.test", "options": {"auth": {"Password": "abc"}}}',
    '{"url": "https://x.test", "extra": ["Bearer abc"]}',
    '{"url": "https://user:pass@x.test/hook"}',
    '{"url": "https://x.test/hook?Token=abc"}',
    '{"url": "https://x.test/hook?a=1&api_key=abc"}'
  ]) as c;
select lives_ok($$select symphony.register_kind('crm.sync', 'default', 5, 'webhook', '{"url": "https://crm.example.com/hooks/symphony?region=eu"}')$$,
  'a webhook URL without credentials registers');
select lives_ok($$select symphony.register_kind('report.build', 'default', 5, 'edge_function', '{"function": "build-report"}')$$,
  'an Edge Function kind registers');

reset role;
select is(symphony._config_credential('{"url": "https://x.test", "options": {"auth": {"Password": "abc"}}}'),
  'options.auth', 'the check can say where the credential is');

select * from finish();
rollback;
