package provider

import (
	"errors"
	"fmt"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// Error is a failed provider call, classified by the provider package that made it.
type Error struct {
	Provider   string        // "resend", "twilio", …
	Permanent  bool          // true: retrying cannot help; the message goes to dead at once
	StatusCode int           // HTTP status, 0 when no response arrived
	Code       string        // the provider's own error code (Twilio 21211, Postmark 300, …)
	Message    string        // the provider's human-readable message
	RetryAfter time.Duration // from Retry-After or a rate-limit header; 0 when absent
	Err        error         // underlying transport error, if any

	// MaybeSent is true when the provider may already have accepted the message
	// although this call failed (a timeout or reset after the request was
	// written, or a 5xx from a gateway), and it does not deduplicate a retry by
	// idempotency key. A retry may then deliver a second copy; the worker
	// records this so at-least-once is never silently more.
	MaybeSent bool
	// InFlight is, for a 429 of a provider that limits the requests an
	// account has in flight and counts them in every answer (Twilio's
	// Twilio-Concurrent-Requests), the requests in flight it counted for this
	// one, itself included. 0: not stated.
	InFlight int
}

func (e *Error) Error() string {
	s := e.Provider
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" http %d", e.StatusCode)
	}
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether retrying cannot help.
func (e *Error) IsPermanent() bool { return e.Permanent }

// RetryDelay is the delay the provider asked for, or 0.
func (e *Error) RetryDelay() time.Duration { return e.RetryAfter }

// Permanent marks err as a failure that no retry can fix (bad input, a rejected
// recipient). The worker sends such a message to dead at once. It is
// msgtype.Permanent, named here for the provider clients that classify their
// vendors' errors.
func Permanent(err error) error { return msgtype.Permanent(err) }

// IsPermanent reports whether any error in err's chain says it is permanent
// (msgtype.IsPermanent).
func IsPermanent(err error) bool { return msgtype.IsPermanent(err) }

// RetryAfter returns the delay any error in err's chain asks for, or 0.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryDelay() time.Duration }
	if errors.As(err, &r) {
		return r.RetryDelay()
	}
	return 0
}

// MaybeSent reports whether any *Error in err's chain says the provider may
// already have accepted the message, so a retry risks a duplicate.
func MaybeSent(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.MaybeSent
}

// ErrorCode returns the provider's error code from err's chain, or "".
func ErrorCode(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
