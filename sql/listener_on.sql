-- Worker $2 sleeps on queue $1 until notified: dispatches into it now NOTIFY.
select symphony.listen($1, $2)
