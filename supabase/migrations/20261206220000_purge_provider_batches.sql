-- purge_finished also deletes the batch records (symphony.provider_batches) that
-- no message needs any more: older than keep, with no member still pending or
-- processing. A retried member looks its batch up to repeat the request under
-- the same key, so a batch is kept, however old, while any member may still
-- be sent. Before this, the table kept a row per batch request for ever.
create or replace function symphony.purge_finished(keep interval default interval '14 days', batch integer default 10000)
returns bigint language plpgsql set search_path = '' as $$
declare
  total bigint := 0;
  n integer;
begin
  if batch is null or batch < 1 or keep is null then
    raise exception using errcode = '22023', message = 'symphony: purge_finished needs a keep interval and a batch of at least 1';
  end if;
  loop
    delete from symphony.messages
     where id in (select id from symphony.messages
                   where finished_at < now() - keep
                   limit batch);
    get diagnostics n = row_count;
    total := total + n;
    exit when n < batch;
  end loop;
  loop
    delete from symphony.provider_batches
     where id in (select b.id from symphony.provider_batches b
                   where b.created_at < now() - keep
                     and not exists (select 1 from symphony.messages m
                                      where m.id = any(b.message_ids)
                                        and m.state in ('pending', 'processing'))
                   limit batch);
    get diagnostics n = row_count;
    exit when n < batch;
  end loop;
  return total;
end $$;
comment on function symphony.purge_finished(interval, integer) is
  'Deletes finished messages older than keep (default 14 days), and the provider batch records older than keep that no pending or processing message belongs to, in batches; returns the number of messages deleted. pg_cron runs it nightly (symphony-purge).';
