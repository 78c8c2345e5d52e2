package handler

import (
	"context"
	"slices"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// A claim's messages are decoded and their recipients checked against the
// suppression list all at once, when the worker hands the claim over
// (worker.Preparer): one statement for a claim of 500 messages. Checked as
// each message starts, gathered or not, the suppression list cost a
// statement per few dozen messages, a tenth of the throughput of a busy
// sidecar (bench/NOTES.md).
//
// The check must still be recent when the provider is called, so that an
// opt-out recorded after dispatch stops the message: a check older than
// preparedMaxAge (a message that waited behind a slow provider) is done
// again right before the call, as for a message nothing was prepared for.
const preparedMaxAge = time.Second

// preparedCheck is a suppression check done at claim time.
type preparedCheck struct {
	sup       []Suppressed
	checkedAt time.Time // zero: not checked (no suppression list, or it failed)
}

// usable reports whether the check can stand in for one made now.
func (c *preparedCheck) usable() bool {
	return !c.checkedAt.IsZero() && time.Since(c.checkedAt) <= preparedMaxAge
}

// emailPrepared is what Email.Prepare leaves in a message's Prepared.
type emailPrepared struct {
	email *provider.Email
	refs  []StorageRef
	preparedCheck
}

// smsPrepared is what SMS.Prepare leaves in a message's Prepared.
type smsPrepared struct {
	sms *provider.SMS
	preparedCheck
}

// suppressionCheck is one message's question to the suppression list.
type suppressionCheck struct {
	channel       string
	addresses     []string
	transactional bool
}

// prechecker answers many messages' suppression checks in one statement.
type prechecker interface {
	Precheck(ctx context.Context, checks []suppressionCheck) ([][]Suppressed, error)
}

// Prepare decodes each message and checks all their recipients in one
// statement. A payload that does not decode is left for Handle to reject.
func (h Email) Prepare(ctx context.Context, msgs []*queue.Message) error {
	preps := make([]*emailPrepared, 0, len(msgs))
	checks := make([]suppressionCheck, 0, len(msgs))
	for _, m := range msgs {
		e, refs, err := DecodeEmail(m.Payload)
		if err != nil {
			continue
		}
		p := &emailPrepared{email: e, refs: refs}
		m.Prepared = p
		preps = append(preps, p)
		checks = append(checks, suppressionCheck{"email", recipients(e), transactional(m.Meta)})
	}
	return precheck(ctx, h.Suppressions, checks, func(i int) *preparedCheck { return &preps[i].preparedCheck })
}

// Prepare decodes each message and checks all their numbers in one
// statement. A payload that does not decode is left for Handle to reject.
func (h SMS) Prepare(ctx context.Context, msgs []*queue.Message) error {
	preps := make([]*smsPrepared, 0, len(msgs))
	checks := make([]suppressionCheck, 0, len(msgs))
	for _, m := range msgs {
		s, err := DecodeSMS(m.Payload)
		if err != nil {
			continue
		}
		p := &smsPrepared{sms: s}
		m.Prepared = p
		preps = append(preps, p)
		checks = append(checks, suppressionCheck{"sms", []string{s.To}, transactional(m.Meta)})
	}
	return precheck(ctx, h.Suppressions, checks, func(i int) *preparedCheck { return &preps[i].preparedCheck })
}

// precheck runs checks through sup, if it can answer them together, and
// records answer i in check(i). On failure nothing is recorded: each message
// is checked again as it starts.
func precheck(ctx context.Context, sup Suppressions, checks []suppressionCheck, check func(int) *preparedCheck) error {
	pc, ok := sup.(prechecker)
	if !ok || len(checks) == 0 {
		return nil
	}
	out, err := pc.Precheck(ctx, checks)
	if err != nil {
		return err
	}
	at := time.Now()
	for i := range checks {
		c := check(i)
		c.sup, c.checkedAt = out[i], at
	}
	return nil
}

// recipients is the bare address of every mailbox an email goes to: what
// the provider is given to deliver to, and so what suppressions are checked
// against.
func recipients(e *provider.Email) []string {
	return provider.Emails(slices.Concat(e.To, e.Cc, e.Bcc))
}

// Precheck implements prechecker: checks[i]'s suppressed addresses are
// out[i]. It runs its own statements (one per maxBatchChecks checks), beside
// the rounds of Suppressed.
func (b *SuppressionBatch) Precheck(ctx context.Context, checks []suppressionCheck) ([][]Suppressed, error) {
	out := make([][]Suppressed, 0, len(checks))
	for part := range slices.Chunk(checks, maxBatchChecks) {
		r := &suppressionRound{checks: len(part), done: make(chan struct{})}
		q := &r.args
		for i, c := range part {
			for _, a := range c.addresses {
				q.reqs, q.channels, q.inputs, q.trans = append(q.reqs, int32(i)), append(q.channels, c.channel), append(q.inputs, a), append(q.trans, c.transactional)
			}
		}
		b.query(ctx, r)
		b.queries.Add(1)
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.out...)
	}
	return out, nil
}
