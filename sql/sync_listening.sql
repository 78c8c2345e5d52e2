-- Set symphony.listening from what symphony.listeners holds now: after the
-- heartbeat dropped the rows of sidecars that stopped beating, nobody may be
-- listening any more, and dispatches need not NOTIFY (in a database without
-- pg_cron, whose tick does the same, the flag stayed at 1 until the next
-- unlisten).
select symphony.sync_listening()
