package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/quiethours"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// Handler handles sms.send with one SMSSender.
type Handler struct {
	Sender    provider.SMSSender
	Namespace string // the installation id, part of idempotency keys
	// Suppressions, when set, is checked at most suppression.MaxAge before
	// the provider call (at claim time, see Prepare, or right before the
	// call); a suppressed number cancels the message.
	Suppressions suppression.Checker
	// Now is the clock quiet hours are read against (time.Now when nil).
	Now func() time.Time
}

var (
	_ msgtype.Preparer    = Handler{}
	_ msgtype.SilentLimit = Handler{}
)

// ProviderStatesNoRateLimit reports whether the SMS provider says nothing of
// its rate limit but with 429s (Twilio).
func (h Handler) ProviderStatesNoRateLimit() bool { return provider.StatesNoRateLimit(h.Sender) }

// Handle decodes the payload and sends it; the provider's receipt is the result.
// A suppressed number cancels it; outside its quiet-hours window
// (meta.quiet_hours) it is deferred to the window's opening. A message
// Prepare made a job for is sent by the job instead.
func (h Handler) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	s, err := DecodeSMS(m.Payload)
	if err != nil {
		return nil, msgtype.Permanent(err)
	}
	return h.send(ctx, m, s, nil)
}

// send checks s's number against the suppression list, unless checked is a
// check made at the claim recent enough to stand in for one, and its quiet
// hours, and sends it.
func (h *Handler) send(ctx context.Context, m *msgtype.Message, s *provider.SMS, checked *suppression.Answer) (json.RawMessage, error) {
	if h.Suppressions != nil {
		var sup []suppression.Suppressed
		if checked.Fresh() {
			sup = checked.Suppressed
		} else {
			var err error
			if sup, err = h.Suppressions.Suppressed(ctx, "sms", []string{s.To}, m.Transactional()); err != nil {
				return nil, err
			}
		}
		if len(sup) > 0 {
			return nil, suppression.Cancel(s.To, sup)
		}
	}
	window, err := quiethours.FromMeta(m.Meta)
	if err != nil {
		return nil, msgtype.Permanent(err)
	}
	if now := clock(h.Now); window != nil && !window.Open(now) {
		open := window.Next(now)
		return nil, msgtype.Defer(open.Sub(now), fmt.Sprintf("quiet hours: sending opens at %s", open.In(window.Location).Format("2006-01-02 15:04 MST")))
	}
	r, err := h.Sender.SendSMS(ctx, provider.SendOf(h.Namespace, m), s)
	if err != nil {
		return nil, err
	}
	return r.Result(m, h.Sender)
}

// job is one SMS decoded, and its number checked, when it was claimed
// (Prepare): the msgtype.Job the worker runs instead of Handle.
type job struct {
	h   *Handler // shared by the claim's jobs
	m   *msgtype.Message
	sms *provider.SMS
	suppression.Answer
}

// Send implements msgtype.Job.
func (j *job) Send(ctx context.Context) (json.RawMessage, error) {
	return j.h.send(ctx, j.m, j.sms, &j.Answer)
}

// Prepare implements msgtype.Preparer: it decodes each message and checks
// all their numbers in one statement. A payload that does not decode is
// left for Handle to reject.
func (h Handler) Prepare(ctx context.Context, msgs []*msgtype.Message, jobs []msgtype.Job) error {
	hp := &h
	made := make([]*job, 0, len(msgs))
	checks := make([]suppression.Check, 0, len(msgs))
	for i, m := range msgs {
		s, err := DecodeSMS(m.Payload)
		if err != nil {
			continue
		}
		j := &job{h: hp, m: m, sms: s}
		jobs[i] = j
		made = append(made, j)
		checks = append(checks, suppression.Check{Channel: "sms", Addresses: []string{s.To}, Transactional: m.Transactional()})
	}
	return suppression.PrecheckAll(ctx, h.Suppressions, checks, func(i int) *suppression.Answer { return &made[i].Answer })
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}
