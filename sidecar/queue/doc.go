// Package queue is the sidecar's only door to symphony.messages: claiming under a
// lease, writing outcomes in batches, extending leases, rescuing expired ones,
// and reading queue statistics. The SQL itself lives in the repository's sql/
// directory; this package binds it to Go types.
package queue
