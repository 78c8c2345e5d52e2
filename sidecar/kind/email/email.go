package email

import (
	"context"
	"encoding/json"

	"github.com/symphonymessenger/symphony/sidecar/membudget"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// Handler handles email.send with one EmailSender.
type Handler struct {
	Sender    provider.EmailSender
	Namespace string // the installation id, part of idempotency keys
	// Storage fetches attachments kept in Supabase Storage; nil when the
	// sidecar has no SUPABASE_URL (such messages then fail with the reason).
	Storage storage.Fetcher
	// MaxAttachmentBytes bounds the attachments of one email, all together.
	MaxAttachmentBytes int64
	// Memory bounds the bytes held by emails with attachments at once (nil:
	// no bound): each reserves its estimated cost before fetching and
	// releases it once its provider call is over. Emails without
	// attachments never wait on it.
	Memory *membudget.Budget
	// Suppressions, when set, is checked at most suppression.MaxAge before the
	// provider call (at claim time, see Prepare, or right before the call):
	// suppressed recipients are dropped, and a message left with none in "to"
	// is cancelled.
	Suppressions suppression.Checker
}

var (
	_ msgtype.Preparer     = Handler{}
	_ msgtype.BatchHandler = Handler{}
	_ msgtype.SilentLimit  = Handler{}
)

// ProviderStatesNoRateLimit reports whether the email provider says nothing
// of its rate limit but with 429s (Postmark).
func (h Handler) ProviderStatesNoRateLimit() bool { return provider.StatesNoRateLimit(h.Sender) }

// Handle decodes the payload and sends it; the provider's receipt is the
// result. A message Prepare made a job for is sent by the job instead.
func (h Handler) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	e, refs, err := DecodeEmail(m.Payload)
	if err != nil {
		return nil, msgtype.Permanent(err)
	}
	return h.send(ctx, m, e, refs, nil)
}

// send checks e's recipients against the suppression list, unless checked
// is a check made at the claim that is recent enough to stand in for one,
// and sends e to those left.
func (h *Handler) send(ctx context.Context, m *msgtype.Message, e *provider.Email, refs []StorageRef, checked *suppression.Answer) (json.RawMessage, error) {
	var sup []suppression.Suppressed
	if h.Suppressions != nil {
		if checked.Fresh() {
			sup = checked.Suppressed
		} else {
			var err error
			if sup, err = h.Suppressions.Suppressed(ctx, "email", recipients(e), m.Transactional()); err != nil {
				return nil, err
			}
		}
	}
	if err := suppress(e, sup); err != nil {
		return nil, err
	}
	return h.deliver(ctx, m, e, refs, sup)
}

// suppress drops e's suppressed recipients; with none left in "to", the
// message is cancelled.
func suppress(e *provider.Email, sup []suppression.Suppressed) error {
	if len(sup) == 0 {
		return nil
	}
	e.To, e.Cc, e.Bcc = suppression.Without(e.To, sup), suppression.Without(e.Cc, sup), suppression.Without(e.Bcc, sup)
	if len(e.To) == 0 {
		return suppression.Cancel(sup[0].Address, sup)
	}
	return nil
}

// deliver sends e, whose suppressed recipients are gone, in a request of its
// own.
func (h *Handler) deliver(ctx context.Context, m *msgtype.Message, e *provider.Email, refs []StorageRef, sup []suppression.Suppressed) (json.RawMessage, error) {
	res, err := h.reserve(ctx, e, refs)
	if err != nil {
		return nil, err
	}
	// Released once the provider call is over and its request body gone.
	defer res.Release()
	if err := h.fetchAttachments(ctx, e, refs, res); err != nil {
		return nil, err
	}
	r, err := h.Sender.SendEmail(ctx, provider.SendOf(h.Namespace, m), e)
	if err != nil {
		return nil, err
	}
	return result(r, m, h.Sender, sup)
}

// result is the stored result, saying which recipients were left out.
func result(r provider.Receipt, m *msgtype.Message, sender any, sup []suppression.Suppressed) (json.RawMessage, error) {
	if len(sup) > 0 {
		if r.Extra == nil {
			r.Extra = map[string]any{}
		}
		r.Extra["suppressed"] = sup
	}
	return r.Result(m, sender)
}
