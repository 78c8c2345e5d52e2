-- The optional WAL wake-up feed: sidecars run with SYMPHONY_WAKEUP=wal decode
-- inserts into symphony.messages from a publication, through a TEMPORARY
-- logical replication slot (dropped with its connection, so a sidecar that is
-- gone never holds WAL back).
--
-- At high insert rates the NOTIFY that every dispatching statement sends costs
-- more than the insert (NOTIFY serialises committing transactions on a global
-- lock). Where every sidecar uses the WAL feed, turn those NOTIFYs off:
--
--   alter database postgres set symphony.notify_inserts = 'off';
--
-- (or `set symphony.notify_inserts = off` in one session, for a bulk load).
-- Nothing is lost either way: the sidecars' fallback poll and the pg_cron tick
-- still find every message.

create publication symphony_messages for table symphony.messages with (publish = 'insert');

create or replace function symphony.messages_notify() returns trigger
language plpgsql set search_path = '' as $$
declare
  q text;
begin
  if current_setting('symphony.notify_inserts', true) = 'off' then
    return null;  -- wake-ups come from the WAL feed (or the poll) instead
  end if;
  for q in select distinct i.queue from inserted i where i.available_at <= now() loop
    perform pg_notify('symphony', q);
  end loop;
  return null;
end $$;
