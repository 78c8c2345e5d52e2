-- Register worker $1 or record that it is alive. Listener rows of sidecars that
-- stopped beating (killed, scaled away) are dropped on the way: they would only
-- make dispatches NOTIFY for nobody. Returns how many were dropped: then
-- symphony.listening must be set again (sync_listening.sql), which this
-- statement cannot do, as it does not see its own deletes.
with stale as (
  delete from symphony.listeners l
   where not exists (select 1 from symphony.workers w
                      where w.id = l.worker_id and w.stopped_at is null
                        and w.heartbeat_at > now() - interval '2 minutes')
     and l.worker_id <> $1
  returning 1
)
insert into symphony.workers (id, hostname, version, queues)
values ($1, $2, $3, $4::jsonb)
on conflict (id) do update
   set heartbeat_at = now(), stopped_at = null, queues = excluded.queues, version = excluded.version
returning (select count(*) from stale)
