-- Worker $2 sleeps on queue $1 until notified: dispatches into it now NOTIFY.
insert into symphony.listeners (queue, worker_id) values ($1, $2) on conflict do nothing
