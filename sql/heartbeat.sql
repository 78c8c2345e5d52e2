-- Register worker $1 or record that it is alive.
insert into symphony.workers (id, hostname, version, queues)
values ($1, $2, $3, $4::jsonb)
on conflict (id) do update
   set heartbeat_at = now(), stopped_at = null, queues = excluded.queues, version = excluded.version
