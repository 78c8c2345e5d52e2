package msgtype

import (
	"context"
	"encoding/json"
)

// Handler does the work of one message kind. A nil error means success and the
// returned JSON is stored as the message's result. An error is permanent
// (IsPermanent), a cancellation (*CancelError), a deferral (*DeferError), or
// else transient: the message is retried, after the delay the error asks for
// if it says (a RetryDelay method), else after the worker's backoff.
type Handler interface {
	Handle(ctx context.Context, m *Message) (json.RawMessage, error)
}

// SilentLimit is a Handler that knows whether its provider states its rate
// limit: one that does not (a 429 is its only signal) makes the worker ramp
// its queue up gently until a rate is known.
type SilentLimit interface {
	ProviderStatesNoRateLimit() bool
}

// Handlers is a fixed kind → handler map.
type Handlers map[string]Handler

// Route returns the handler of kind.
func (h Handlers) Route(kind string) (Handler, bool) {
	x, ok := h[kind]
	return x, ok
}

// Job is one message's attempt, prepared by its kind's Preparer when the
// message was claimed: what the handler worked out then (the decoded
// payload, the suppression check) is the Job's own, typed state. The worker
// carries it, without looking inside, to the slot that runs the message and
// calls Send there instead of the handler's Handle. Send's result and error
// mean what Handle's do.
type Job interface {
	Send(ctx context.Context) (json.RawMessage, error)
}

// Preparer is a Handler that does part of its work for a whole claim at once,
// before the claimed messages reach their slots: a handler that checks each
// recipient against the suppression list checks a claim of 500 in one query,
// instead of one query per handful of messages that happen to be running
// together.
//
// Prepare sets jobs[i] (len(jobs) == len(msgs)) to msgs[i]'s Job, or leaves it
// nil for a message it could not work out (a payload it could not read); such
// a message is handled by Handle as if Prepare had not run. Prepare must not
// decide any message's outcome; an error only costs the batching (jobs it
// set still run).
type Preparer interface {
	Handler
	Prepare(ctx context.Context, msgs []*Message, jobs []Job) error
}
