package email

import (
	"bytes"
	"context"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// attachmentProbe is an email with an attachment: whether a sender's batch
// endpoint takes one.
var attachmentProbe = &provider.Email{Attachments: []provider.Attachment{{Filename: "probe"}}}

// maxBatchBytes bounds the estimated size of one batch request's emails
// (Postmark takes 50 MB); a claim's members beyond it go in another request.
const maxBatchBytes = 40 << 20

// BatchKey implements msgtype.BatchHandler: an email may share a request
// when its sender has a batch endpoint, it is not marked transactional, and
// it has no attachments the endpoint refuses (Resend's takes none).
func (h Handler) BatchKey(m *msgtype.Message) (string, int, bool) {
	bs, ok := h.Sender.(provider.BatchEmailSender)
	if !ok || m.Transactional() {
		return "", 0, false
	}
	if bytes.Contains(m.Payload, []byte(`"attachments"`)) && !bs.Batchable(attachmentProbe) {
		return "", 0, false
	}
	return bs.Name(), bs.MaxBatch(), true
}

// member is one email of a batch unit, ready to send.
type member struct {
	email *provider.Email
	refs  []StorageRef
	sup   []suppression.Suppressed
}

// HandleBatch implements msgtype.BatchHandler. Each email is decoded and its
// recipients checked against the suppression list right before the request
// (a check made at claim time counts while it is recent, as for Handle); a
// suppressed recipient is dropped, an email left with none in "to"
// cancelled. The rest go in batch requests, each recorded before it is made;
// an email the endpoint does not take (attachments in Storage, or refused
// by Batchable), or left alone, goes in a request of its own.
func (h Handler) HandleBatch(ctx context.Context, c msgtype.BatchCall) []msgtype.BatchResult {
	msgs := c.Messages()
	out := make([]msgtype.BatchResult, len(msgs))
	bs, ok := h.Sender.(provider.BatchEmailSender)
	if !ok {
		c.Abandon(ctx)
		for i, m := range msgs {
			c.Single(i)
			if j := h.prepared(c, i); j != nil {
				out[i].Result, out[i].Err = j.Send(ctx)
			} else {
				out[i].Result, out[i].Err = h.Handle(ctx, m)
			}
		}
		return out
	}
	members := make([]*member, len(msgs))
	var stale []int
	for i, m := range msgs {
		mb := &member{}
		j := h.prepared(c, i)
		if j != nil {
			mb.email, mb.refs = j.email, j.refs
		} else {
			var err error
			if mb.email, mb.refs, err = DecodeEmail(m.Payload); err != nil {
				out[i].Err = msgtype.Permanent(err)
				continue
			}
		}
		members[i] = mb
		if h.Suppressions != nil {
			if j != nil && j.Fresh() {
				mb.sup = j.Suppressed
			} else {
				stale = append(stale, i)
			}
		}
	}
	if err := h.checkNow(ctx, msgs, members, stale); err != nil {
		for _, i := range stale {
			out[i].Err, members[i] = err, nil
		}
	}
	var batched, single []int
	for i, mb := range members {
		if mb == nil {
			continue
		}
		if err := suppress(mb.email, mb.sup); err != nil {
			out[i].Err, members[i] = err, nil
			continue
		}
		if len(mb.refs) > 0 || !bs.Batchable(mb.email) {
			single = append(single, i)
		} else {
			batched = append(batched, i)
		}
	}
	if _, ok := c.Repeating(); ok {
		if h.repeat(ctx, c, bs, members, out) {
			return out
		}
	}
	for _, i := range single {
		c.Single(i)
		mb := members[i]
		out[i].Result, out[i].Err = h.deliver(ctx, msgs[i], mb.email, mb.refs, mb.sup)
	}
	for _, part := range chunks(batched, members, bs.MaxBatch()) {
		if len(part) == 1 {
			i := part[0]
			c.Single(i)
			mb := members[i]
			out[i].Result, out[i].Err = h.deliver(ctx, msgs[i], mb.email, mb.refs, mb.sup)
			continue
		}
		id, attempt, err := c.Record(ctx, bs.Name(), provider.BatchKeyPrefix(h.Namespace), part)
		if err != nil {
			// Not recorded, so not sent: the members simply retry.
			for _, i := range part {
				out[i].Err = err
			}
			continue
		}
		h.sendBatch(ctx, c, bs, provider.Batch{Namespace: h.Namespace, ID: id, Attempt: attempt}, part, members, out)
	}
	return out
}

// repeat sends the batch being repeated again, exactly as before: every member, in order,
// unchanged. It reports whether it did; if a member changed since (it
// failed to decode, lost a recipient to the suppression list, or no longer
// fits the endpoint), the batch is abandoned and the members go out anew.
func (h Handler) repeat(ctx context.Context, c msgtype.BatchCall, bs provider.BatchEmailSender, members []*member, out []msgtype.BatchResult) bool {
	all := make([]int, len(members))
	for i, mb := range members {
		if mb == nil || len(mb.sup) > 0 || len(mb.refs) > 0 || !bs.Batchable(mb.email) {
			c.Abandon(ctx)
			return false
		}
		all[i] = i
	}
	id, _ := c.Repeating()
	n, err := c.Again(ctx)
	if err != nil {
		return false // finished or abandoned by another sidecar meanwhile: send anew
	}
	h.sendBatch(ctx, c, bs, provider.Batch{Namespace: h.Namespace, ID: id, Attempt: n}, all, members, out)
	return true
}

// sendBatch makes one batch request of the members at idx and sets their
// results, and the batch's outcome: answered when the provider answered per
// email; failed when the request failed for good, or failed in a way a
// provider without idempotency keys cannot have repeated safely. A request
// that failed for now, through a provider that honours keys, is left
// unfinished: the members' retry repeats it under the same key.
func (h Handler) sendBatch(ctx context.Context, c msgtype.BatchCall, bs provider.BatchEmailSender, b provider.Batch,
	idx []int, members []*member, out []msgtype.BatchResult) {
	emails := make([]*provider.Email, len(idx))
	for j, i := range idx {
		emails[j] = members[i].email
	}
	results, err := bs.SendEmailBatch(ctx, b, emails)
	if err == nil && len(results) != len(idx) {
		err = &provider.Error{Provider: bs.Name(), Message: "batch answer with the wrong number of results", MaybeSent: true}
	}
	if err != nil {
		for _, i := range idx {
			out[i].Err = err
		}
		if provider.IsPermanent(err) || !provider.RetriesAreIdempotent(bs) {
			c.Finish(msgtype.BatchFailed)
		}
		return
	}
	c.Finish(msgtype.BatchAnswered)
	for j, i := range idx {
		if results[j].Err != nil {
			out[i].Err = results[j].Err
			continue
		}
		out[i].Result, out[i].Err = result(results[j].Receipt, c.Messages()[i], h.Sender, members[i].sup)
	}
}

// checkNow checks the suppression list for the members at stale (no recent
// check from the claim), together when the list can answer many at once.
func (h Handler) checkNow(ctx context.Context, msgs []*msgtype.Message, members []*member, stale []int) error {
	if len(stale) == 0 {
		return nil
	}
	if pc, ok := h.Suppressions.(suppression.Prechecker); ok {
		checks := make([]suppression.Check, len(stale))
		for j, i := range stale {
			checks[j] = suppression.Check{Channel: "email", Addresses: recipients(members[i].email), Transactional: msgs[i].Transactional()}
		}
		sups, err := pc.Precheck(ctx, checks)
		if err != nil {
			return err
		}
		for j, i := range stale {
			members[i].sup = sups[j]
		}
		return nil
	}
	for _, i := range stale {
		sup, err := h.Suppressions.Suppressed(ctx, "email", recipients(members[i].email), msgs[i].Transactional())
		if err != nil {
			return err
		}
		members[i].sup = sup
	}
	return nil
}

// chunks splits idx, in order, into requests of at most max emails and
// about maxBatchBytes.
func chunks(idx []int, members []*member, max int) [][]int {
	var out [][]int
	var part []int
	size := 0
	for _, i := range idx {
		n := emailBytes(members[i].email)
		if len(part) > 0 && (len(part) == max || size+n > maxBatchBytes) {
			out = append(out, part)
			part, size = nil, 0
		}
		part = append(part, i)
		size += n
	}
	if len(part) > 0 {
		out = append(out, part)
	}
	return out
}

// emailBytes estimates e's share of a JSON request body.
func emailBytes(e *provider.Email) int {
	n := 1024 + len(e.Subject) + len(e.HTML) + len(e.Text)
	for _, a := range e.Attachments {
		n += len(a.Content)*4/3 + len(a.Filename) + 64
	}
	return n
}

// prepared is the job Prepare made for member i of c, if anything.
func (h Handler) prepared(c msgtype.BatchCall, i int) *job {
	j, _ := c.Job(i).(*job)
	if j == nil || j.m != c.Messages()[i] {
		return nil
	}
	return j
}
