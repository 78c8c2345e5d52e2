package providerevents

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MinPostmarkPassword is the shortest POSTMARK_WEBHOOK_PASSWORD accepted: it is
// the only thing between the internet and the suppression list.
const MinPostmarkPassword = 16

// Postmark signs nothing. Its webhooks documentation has you put HTTP Basic
// credentials in the webhook URL (https://user:password@host/webhooks/postmark)
// or in the webhook's HttpAuth, and Postmark sends them as an Authorization
// header. Postmark sends no timestamp either, so there is no staleness to
// check; replays are harmless because recording is idempotent.
func newPostmark(user, password string) (*source, error) {
	if user == "" || password == "" {
		return nil, errors.New("POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD must be set together")
	}
	if len(password) < MinPostmarkPassword {
		// The length only: the value is a secret.
		return nil, errors.New("POSTMARK_WEBHOOK_PASSWORD is " + strconv.Itoa(len(password)) +
			" characters; use at least " + strconv.Itoa(MinPostmarkPassword) + " random ones (e.g. openssl rand -hex 24)")
	}
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	headers := func(r *http.Request, _ time.Time) error {
		u, p, ok := r.BasicAuth()
		if !ok {
			return unauthorized("HTTP Basic credentials are required")
		}
		// Constant time, both compared whatever the first gives; hashing hides lengths.
		gu, gp := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		if subtle.ConstantTimeCompare(gu[:], wantUser[:])&subtle.ConstantTimeCompare(gp[:], wantPass[:]) != 1 {
			return unauthorized("wrong HTTP Basic credentials")
		}
		return nil
	}
	verify := func(r *http.Request, _ []byte, now time.Time) error { return headers(r, now) }
	return &source{provider: "postmark", maxBody: postmarkMaxBody, headers: headers, verify: verify, parse: parsePostmark}, nil
}

// postmarkMaxBody bounds a Postmark webhook: one record, a few KB, unless the
// bounce webhook is set to include the bounce's content, which can be large.
const postmarkMaxBody = 1 << 20

// postmarkEvent covers the record types Postmark posts
// (postmarkapp.com/developer/webhooks/…): Delivery, Bounce, SpamComplaint,
// SubscriptionChange, Open, Click.
type postmarkEvent struct {
	RecordType  string `json:"RecordType"`
	MessageID   string `json:"MessageID"`
	ID          int64  `json:"ID"`          // Bounce and SpamComplaint
	Type        string `json:"Type"`        // HardBounce, SoftBounce, SpamComplaint, …
	Email       string `json:"Email"`       // Bounce and SpamComplaint
	Recipient   string `json:"Recipient"`   // Delivery and SubscriptionChange
	Description string `json:"Description"` // Bounce
	Details     string `json:"Details"`
	Inactive    bool   `json:"Inactive"` // Postmark deactivated the address: it will not send to it again
	// SubscriptionChange
	SuppressSending   bool   `json:"SuppressSending"`
	SuppressionReason string `json:"SuppressionReason"` // HardBounce, SpamComplaint, ManualSuppression

	DeliveredAt time.Time `json:"DeliveredAt"`
	BouncedAt   time.Time `json:"BouncedAt"`
	ChangedAt   time.Time `json:"ChangedAt"`
}

func parsePostmark(_ *http.Request, body []byte, now time.Time) ([]Event, error) {
	var e postmarkEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, malformed("not a Postmark webhook: %v", err)
	}
	ev := Event{Provider: "postmark", MessageID: e.MessageID, ProviderEvent: e.RecordType, Recipient: firstOf(e.Email, e.Recipient),
		Raw: body}
	switch e.RecordType {
	case "Delivery":
		ev.Status, ev.At, ev.Reason = Delivered, e.DeliveredAt, e.Details
	case "Bounce":
		ev.ProviderEvent, ev.At, ev.Reason = e.Type, e.BouncedAt, firstOf(e.Details, e.Description)
		switch {
		case e.Type == "HardBounce" || e.Type == "BadEmailAddress" || e.Type == "ManuallyDeactivated" || e.Inactive:
			ev.Status, ev.Suppress = Bounced, SuppressBounced
		case e.Type == "SpamNotification":
			ev.Status, ev.Suppress = Complained, SuppressComplained
		case e.Type == "SoftBounce" || e.Type == "Transient" || e.Type == "DnsError":
			ev.Status = Delayed
		case e.Type == "AutoResponder" || e.Type == "Subscribe" || e.Type == "AddressChange" ||
			e.Type == "OpenRelayTest" || e.Type == "ChallengeVerification" || e.Type == "VirusNotification":
			return nil, nil // replies and notices, not failures
		default:
			ev.Status = Undelivered // Blocked, Unknown, DMARCPolicy, …: this message failed, the address may not
		}
	case "SpamComplaint":
		ev.ProviderEvent, ev.At = firstOf(e.Type, e.RecordType), e.BouncedAt
		ev.Status, ev.Suppress = Complained, SuppressComplained
	case "SubscriptionChange":
		if !e.SuppressSending {
			return nil, nil // reactivated in Postmark; our list is changed deliberately, by hand
		}
		ev.Status, ev.At, ev.Reason = OptOut, e.ChangedAt, e.SuppressionReason
		switch e.SuppressionReason {
		case "HardBounce":
			ev.Suppress = SuppressBounced
		case "SpamComplaint":
			ev.Suppress = SuppressComplained
		default:
			ev.Suppress = SuppressUnsubscribed
		}
	case "":
		return nil, malformed("not a Postmark webhook: no RecordType")
	default:
		return nil, nil // Open, Click
	}
	if ev.MessageID == "" && ev.Status != OptOut {
		return nil, malformed("%s without MessageID", e.RecordType)
	}
	// Postmark retries with the same body; what it says identifies it.
	ev.Key = strings.Join([]string{e.RecordType, e.MessageID, strconv.FormatInt(e.ID, 10), ev.Recipient,
		ev.ProviderEvent, ev.At.UTC().Format(time.RFC3339Nano)}, "|")
	if ev.At.IsZero() {
		ev.At = now
	}
	return []Event{ev}, nil
}
