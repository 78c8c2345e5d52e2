// Package worker runs the sidecar's claim-handle-complete loop: one producer per
// queue claims as many messages as it has free slots, each message runs in one
// of its queue's slot goroutines under a deadline one watchdog goroutine
// enforces (attempt.go), and one completer writes outcomes back in
// batches. Wake-ups come from the listener (NOTIFY), from finished work and from
// a fallback poll, so no single one of them is load-bearing.
//
// The worker knows no kind: it routes each message to a msgtype.Handler by
// its kind, hands a big claim to the handler's Prepare when it is a
// msgtype.Preparer and carries the jobs it returns to the slots, groups what
// a msgtype.BatchHandler may send in one request into a batch unit, and
// turns the answers (msgtype's permanent, cancelled and deferred outcomes
// among them) into outcomes. What a kind must do on a timer it hands over
// as a Periodic step.
package worker
