package suppression

import (
	"context"
	"time"
)

// A claim's messages have their recipients checked against the suppression
// list all at once, when the worker hands the claim over (msgtype.Preparer):
// one statement for a claim of 500 messages. Checked as each message starts,
// gathered or not, the suppression list cost a statement per few dozen
// messages, a tenth of the throughput of a busy sidecar (bench/NOTES.md).
//
// The check must still be recent when the provider is called, so that an
// opt-out recorded after dispatch stops the message: an answer older than
// MaxAge (a message that waited behind a slow provider) is asked for again
// right before the call, as for a message nothing was prepared for.
const MaxAge = time.Second

// Answer is a check made at claim time.
type Answer struct {
	Suppressed []Suppressed
	At         time.Time // zero: not checked (no suppression list, or it failed)
}

// Fresh reports whether a can stand in for a check made now. A nil Answer
// cannot.
func (a *Answer) Fresh() bool {
	return a != nil && !a.At.IsZero() && time.Since(a.At) <= MaxAge
}

// PrecheckAll runs checks through c, if it can answer them together
// (Prechecker), and records answer i in answer(i). On failure nothing is
// recorded: each message is checked again as it starts.
func PrecheckAll(ctx context.Context, c Checker, checks []Check, answer func(i int) *Answer) error {
	pc, ok := c.(Prechecker)
	if !ok || len(checks) == 0 {
		return nil
	}
	out, err := pc.Precheck(ctx, checks)
	if err != nil {
		return err
	}
	at := time.Now()
	for i := range checks {
		a := answer(i)
		a.Suppressed, a.At = out[i], at
	}
	return nil
}
