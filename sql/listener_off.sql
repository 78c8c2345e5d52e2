-- Worker $2 polls queue $1 while it is busy: its dispatches need not NOTIFY for it.
delete from symphony.listeners where queue = $1 and worker_id = $2
