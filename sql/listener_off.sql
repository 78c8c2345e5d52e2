-- Worker $2 polls queue $1 while it is busy: its dispatches need not NOTIFY for it.
select symphony.unlisten($1, $2)
