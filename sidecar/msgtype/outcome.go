package msgtype

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Permanent marks err as permanent: the message goes to dead with the reason
// instead of being retried (a payload that cannot be sent, a provider's 4xx).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (p *permanentError) Error() string     { return p.err.Error() }
func (p *permanentError) Unwrap() error     { return p.err }
func (p *permanentError) IsPermanent() bool { return true }

// IsPermanent reports whether any error in err's chain says it is permanent
// (has an IsPermanent method that says so: Permanent's, or a provider
// error's).
func IsPermanent(err error) bool {
	var p interface{ IsPermanent() bool }
	return errors.As(err, &p) && p.IsPermanent()
}

// CancelError is what a handler returns when the message must not be sent at
// all (the recipient is suppressed, say): the message ends cancelled, By names
// who cancelled it (cancelled_by), Reason says why (last_error), and Result is
// stored. It is not a failure: no error entry, no retry.
type CancelError struct {
	By     string
	Reason string
	Result json.RawMessage
}

func (e *CancelError) Error() string { return fmt.Sprintf("cancelled by %s: %s", e.By, e.Reason) }

// Cancel returns a CancelError.
func Cancel(by, reason string, result json.RawMessage) error {
	return &CancelError{By: by, Reason: reason, Result: result}
}

// DeferError is what a handler returns when the message must wait (quiet
// hours, a step not yet due): it goes back to pending, due After from now, and
// the attempt is not counted: deferring is not failing.
type DeferError struct {
	After  time.Duration
	Reason string
}

func (e *DeferError) Error() string { return fmt.Sprintf("deferred for %s: %s", e.After, e.Reason) }

// Defer returns a DeferError. A wait below a millisecond is rounded up, so a
// deferred message never comes straight back.
func Defer(after time.Duration, reason string) error {
	return &DeferError{After: max(after, time.Millisecond), Reason: reason}
}
