// Package listener holds the sidecar's one dedicated LISTEN connection. It
// reconnects with backoff after any failure and, after every (re)connect, wakes
// every queue, because notifications sent while it was away are gone.
package listener
