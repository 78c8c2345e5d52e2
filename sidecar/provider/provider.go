package provider

import (
	"context"
	"strconv"
)

// Email is a validated email.send payload, ready to hand to a provider.
type Email struct {
	From        Address           `json:"from"`
	To          []Address         `json:"to"`
	Cc          []Address         `json:"cc,omitempty"`
	Bcc         []Address         `json:"bcc,omitempty"`
	ReplyTo     []Address         `json:"reply_to,omitempty"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html,omitempty"`
	Text        string            `json:"text,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
}

// Attachment is a file attached to an Email. Content holds the raw bytes (the
// payload carries them base64-encoded); ContentType may be empty.
type Attachment struct {
	Filename    string `json:"filename"`
	Content     []byte `json:"content"`
	ContentType string `json:"content_type,omitempty"`
}

// SMS is a validated sms.send payload. From is an E.164 number, an alphanumeric
// sender ID, a Messaging Service SID ("MG…") or empty (the provider's
// configured default sender is used).
type SMS struct {
	To   string `json:"to"`
	From string `json:"from,omitempty"`
	Body string `json:"body"`
}

// Receipt is what a provider returns for an accepted message. It is stored in
// the message's result column, so it must never hold credentials.
type Receipt struct {
	Provider  string         `json:"provider"`
	MessageID string         `json:"provider_message_id,omitempty"`
	Status    string         `json:"status,omitempty"`
	Extra     map[string]any `json:"extra,omitempty"`
	// PossibleDuplicate is set by Symphony, not providers: an earlier attempt
	// may also have reached a provider that does not deduplicate retries.
	PossibleDuplicate bool `json:"possible_duplicate,omitempty"`
}

// Send describes one attempt of a message, so providers can derive an
// idempotency key that is the same on every retry of that message.
type Send struct {
	// Namespace is the database's installation id (symphony.installation):
	// message ids restart in every database, so keys must say which one.
	Namespace string
	MessageID int64 // symphony.messages.id
	Attempt   int   // 1 for the first attempt
}

// IdempotencyKey is the key a provider that supports one sends with every
// attempt of the message: stable across retries and sidecars, distinct across
// databases.
func (s Send) IdempotencyKey() string {
	if s.Namespace == "" {
		return "symphony-msg-" + strconv.FormatInt(s.MessageID, 10)
	}
	return "symphony-" + s.Namespace + "-" + strconv.FormatInt(s.MessageID, 10)
}

// Idempotent is implemented by senders whose retries cannot send twice because
// the provider deduplicates by IdempotencyKey.
type Idempotent interface {
	IdempotentRetries() bool
}

// RetriesAreIdempotent reports whether a retry through s cannot send twice.
func RetriesAreIdempotent(s any) bool {
	i, ok := s.(Idempotent)
	return ok && i.IdempotentRetries()
}

// SilentLimit is implemented by senders whose provider states no rate limit
// in its answers: a 429 is its only signal (Postmark, Twilio). Until a rate
// is known for such a provider, whatever is in flight when its window fills
// is refused, so the worker ramps up gently (see worker's limiter).
type SilentLimit interface {
	StatesNoRateLimit() bool
}

// StatesNoRateLimit reports whether s's provider says nothing of its rate
// limit but with 429s.
func StatesNoRateLimit(s any) bool {
	q, ok := s.(SilentLimit)
	return ok && q.StatesNoRateLimit()
}

// EmailSender sends one email.
type EmailSender interface {
	Name() string
	SendEmail(ctx context.Context, s Send, e *Email) (Receipt, error)
}

// SMSSender sends one SMS.
type SMSSender interface {
	Name() string
	SendSMS(ctx context.Context, s Send, m *SMS) (Receipt, error)
}
