-- symphony.messages is vacuumed by its count of dead row versions, not by a
-- share of the table: its kept history would otherwise let the claim index's
-- head fill with the entries of messages already claimed, which every claim
-- reads past (20261207040000_messages_vacuum_by_dead_rows.sql).
begin;
create extension if not exists pgtap;
select plan(2);

-- The recipe in docs/operations.md ("Vacuum"), as written.
select is(
  (select reloptions from pg_class where oid = 'symphony.messages'::regclass),
  array['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=20000'],
  'messages: autovacuum after 20,000 dead row versions, whatever the table''s size (the docs'' recipe)');

-- What autovacuum computes from them: the dead versions that start a vacuum of
-- a table of 10 million rows (the default would wait for 2,000,050).
select is(
  (select coalesce((select split_part(o, '=', 2)::float8 from unnest(c.reloptions) o
                     where o like 'autovacuum_vacuum_threshold=%'), current_setting('autovacuum_vacuum_threshold')::float8)
        + coalesce((select split_part(o, '=', 2)::float8 from unnest(c.reloptions) o
                     where o like 'autovacuum_vacuum_scale_factor=%'), current_setting('autovacuum_vacuum_scale_factor')::float8)
          * 10000000
     from pg_class c where c.oid = 'symphony.messages'::regclass),
  20000::float8,
  'a table of 10 million kept messages is vacuumed after 20,000 dead versions');

select * from finish();
rollback;
