-- Configuration changes reach the sidecars on the channel symphony_config
-- (sidecar/listener.ChannelConfig), messages on symphony: no function of the
-- schema notifies on any other channel, and the three that announce a change
-- of flags, limits or kinds use symphony_config.
begin;
create extension if not exists pgtap;
select plan(2);

select is(
  (select array_agg(p.proname::text order by p.proname)
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'symphony'
      and p.prosrc ~ 'pg_notify\s*\('
      and regexp_replace(p.prosrc, 'pg_notify\s*\(\s*''(symphony|symphony_config)''', '', 'g') ~ 'pg_notify\s*\('),
  null,
  'every pg_notify in schema symphony names the channel symphony or symphony_config');

select set_eq(
  $$select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'symphony' and p.prosrc ~ 'pg_notify\s*\(\s*''symphony_config'''$$,
  array['flags_audit', 'kinds_changed', 'limits_changed'],
  'flags_audit, kinds_changed and limits_changed announce on symphony_config');

select * from finish();
rollback;
