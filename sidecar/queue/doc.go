// Package queue is the sidecar's only door to symphony.messages: claiming under a
// lease, writing outcomes in batches, extending leases, rescuing expired ones,
// and reading queue statistics. The SQL itself lives in the repository's sql/
// directory; this package binds it to Go types.
//
// A claimed row that cannot be read (a value the driver cannot scan) is ended
// dead by the claim itself, alone and saying why; the rest of the claim is
// returned as usual (claim_read.go).
package queue
