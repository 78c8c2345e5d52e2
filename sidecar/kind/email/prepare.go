package email

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// job is one email decoded, and its recipients checked, when it was claimed
// (Prepare): the msgtype.Job the worker runs instead of Handle.
type job struct {
	h                  *Handler // shared by the claim's jobs
	m                  *msgtype.Message
	email              *provider.Email
	refs               []StorageRef
	suppression.Answer // the suppression check made at the claim
}

// Send implements msgtype.Job.
func (j *job) Send(ctx context.Context) (json.RawMessage, error) {
	return j.h.send(ctx, j.m, j.email, j.refs, &j.Answer)
}

// Prepare implements msgtype.Preparer: it decodes each message and checks
// all their recipients in one statement. A payload that does not decode is
// left for Handle to reject.
func (h Handler) Prepare(ctx context.Context, msgs []*msgtype.Message, jobs []msgtype.Job) error {
	hp := &h
	made := make([]*job, 0, len(msgs))
	checks := make([]suppression.Check, 0, len(msgs))
	for i, m := range msgs {
		e, refs, err := DecodeEmail(m.Payload)
		if err != nil {
			continue
		}
		j := &job{h: hp, m: m, email: e, refs: refs}
		jobs[i] = j
		made = append(made, j)
		checks = append(checks, suppression.Check{Channel: "email", Addresses: recipients(e), Transactional: m.Transactional()})
	}
	return suppression.PrecheckAll(ctx, h.Suppressions, checks, func(i int) *suppression.Answer { return &made[i].Answer })
}

// recipients is the bare address of every mailbox an email goes to: what
// the provider is given to deliver to, and so what suppressions are checked
// against.
func recipients(e *provider.Email) []string {
	return provider.Emails(slices.Concat(e.To, e.Cc, e.Bcc))
}
