// Package worker runs the sidecar's claim-handle-complete loop: one producer per
// queue claims as many messages as it has free slots, each message runs in one
// of its queue's slot goroutines under a deadline one watchdog goroutine
// enforces (attempt.go), and one completer writes outcomes back in
// batches. Wake-ups come from the listener (NOTIFY), from finished work and from
// a fallback poll, so no single one of them is load-bearing.
package worker
