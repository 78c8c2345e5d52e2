package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// Email handles email.send with one EmailSender.
type Email struct {
	Sender    provider.EmailSender
	Namespace string // the installation id, part of idempotency keys
}

// Handle decodes the payload and sends it; the provider's receipt is the result.
func (h Email) Handle(ctx context.Context, m *queue.Message) (json.RawMessage, error) {
	e, err := DecodeEmail(m.Payload)
	if err != nil {
		return nil, provider.Permanent(err)
	}
	r, err := h.Sender.SendEmail(ctx, send(h.Namespace, m), e)
	if err != nil {
		return nil, err
	}
	return receipt(r, m, h.Sender)
}

// SMS handles sms.send with one SMSSender.
type SMS struct {
	Sender    provider.SMSSender
	Namespace string // the installation id, part of idempotency keys
}

// Handle decodes the payload and sends it; the provider's receipt is the result.
func (h SMS) Handle(ctx context.Context, m *queue.Message) (json.RawMessage, error) {
	s, err := DecodeSMS(m.Payload)
	if err != nil {
		return nil, provider.Permanent(err)
	}
	r, err := h.Sender.SendSMS(ctx, send(h.Namespace, m), s)
	if err != nil {
		return nil, err
	}
	return receipt(r, m, h.Sender)
}

func send(ns string, m *queue.Message) provider.Send {
	return provider.Send{Namespace: ns, MessageID: m.ID, Attempt: m.Attempt}
}

// receipt is the stored result. It says when the recipient may have received
// the message twice: an earlier attempt may have reached a provider that does
// not deduplicate retries. At-least-once, never silently more.
func receipt(r provider.Receipt, m *queue.Message, sender any) (json.RawMessage, error) {
	if m.MaybeSentBefore && !provider.RetriesAreIdempotent(sender) {
		r.PossibleDuplicate = true
	}
	b, err := json.Marshal(r)
	if err != nil {
		// The call succeeded: failing now would send again. Keep what we know.
		return json.RawMessage(fmt.Sprintf(`{"provider":%q,"provider_message_id":%q}`, r.Provider, r.MessageID)), nil
	}
	return b, nil
}

// Builtins returns the handlers of the built-in kinds. namespace is the
// installation id (symphony.installation).
func Builtins(email provider.EmailSender, sms provider.SMSSender, namespace string) worker.Handlers {
	return worker.Handlers{
		"email.send": Email{Sender: email, Namespace: namespace},
		"sms.send":   SMS{Sender: sms, Namespace: namespace},
	}
}
