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
type Email struct{ Sender provider.EmailSender }

// Handle decodes the payload and sends it; the provider's receipt is the result.
func (h Email) Handle(ctx context.Context, m *queue.Message) (json.RawMessage, error) {
	e, err := DecodeEmail(m.Payload)
	if err != nil {
		return nil, provider.Permanent(err)
	}
	r, err := h.Sender.SendEmail(ctx, provider.Send{MessageID: m.ID, Attempt: m.Attempt}, e)
	if err != nil {
		return nil, err
	}
	return receipt(r)
}

// SMS handles sms.send with one SMSSender.
type SMS struct{ Sender provider.SMSSender }

// Handle decodes the payload and sends it; the provider's receipt is the result.
func (h SMS) Handle(ctx context.Context, m *queue.Message) (json.RawMessage, error) {
	s, err := DecodeSMS(m.Payload)
	if err != nil {
		return nil, provider.Permanent(err)
	}
	r, err := h.Sender.SendSMS(ctx, provider.Send{MessageID: m.ID, Attempt: m.Attempt}, s)
	if err != nil {
		return nil, err
	}
	return receipt(r)
}

func receipt(r provider.Receipt) (json.RawMessage, error) {
	b, err := json.Marshal(r)
	if err != nil {
		// The call succeeded: failing now would send again. Keep what we know.
		return json.RawMessage(fmt.Sprintf(`{"provider":%q,"provider_message_id":%q}`, r.Provider, r.MessageID)), nil
	}
	return b, nil
}

// Builtins returns the handlers of the built-in kinds.
func Builtins(email provider.EmailSender, sms provider.SMSSender) map[string]worker.Handler {
	return map[string]worker.Handler{
		"email.send": Email{Sender: email},
		"sms.send":   SMS{Sender: sms},
	}
}
