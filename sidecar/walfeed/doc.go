// Package walfeed wakes the sidecar from the write-ahead log instead of NOTIFY:
// it streams the symphony_messages publication (inserts into symphony.messages)
// through a TEMPORARY logical replication slot and reports each inserted row's
// queue. A temporary slot is dropped by the server when its connection ends, so
// a sidecar that crashes or is scaled away never holds WAL back.
//
// It needs wal_level = logical (Supabase has it, for Realtime) and a role with
// the REPLICATION attribute. Where either is missing, Run returns an error that
// wraps ErrUnavailable and the sidecar keeps waking from NOTIFY and polling.
package walfeed
