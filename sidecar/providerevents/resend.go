package providerevents

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Resend's webhooks are sent by Svix. Svix's "Verifying Webhooks Manually"
// (docs.svix.com/receiving/verifying-payloads/how-manual) and Resend's "Verify
// Webhooks Requests" (resend.com/docs/webhooks/verify-webhooks-requests):
//   - headers svix-id (the same on every retry of a message), svix-timestamp
//     (Unix seconds) and svix-signature, a space-separated list of
//     "v1,<base64 signature>" (several during a secret rotation);
//   - signature = base64(HMAC-SHA256(key, "<svix-id>.<svix-timestamp>.<raw body>")),
//     key = the base64-decoded part of the secret after "whsec_";
//   - a timestamp more than five minutes from now either way is refused.
func newResend(secret string, tolerance time.Duration) (*source, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) < 16 {
		return nil, errors.New("RESEND_WEBHOOK_SECRET is not a Resend signing secret (whsec_ followed by base64, from the webhook's page)")
	}
	// v1 signatures in svix-signature, decoded; none is a request to refuse.
	signatures := func(r *http.Request) [][]byte {
		var sigs [][]byte
		for _, entry := range strings.Fields(r.Header.Get("svix-signature")) {
			version, sig, _ := strings.Cut(entry, ",")
			if got, err := base64.StdEncoding.DecodeString(sig); version == "v1" && err == nil && len(got) == sha256.Size {
				sigs = append(sigs, got)
			}
		}
		return sigs
	}
	headers := func(r *http.Request, now time.Time) error {
		id, ts, sigs := r.Header.Get("svix-id"), r.Header.Get("svix-timestamp"), r.Header.Get("svix-signature")
		if id == "" || ts == "" || sigs == "" {
			return unauthorized("svix-id, svix-timestamp and svix-signature are required")
		}
		if err := checkTimestamp("svix-timestamp", ts, now, tolerance); err != nil {
			return err
		}
		if len(signatures(r)) == 0 {
			return badSignature("svix-signature has no v1 signature")
		}
		return nil
	}
	verify := func(r *http.Request, body []byte, now time.Time) error {
		if err := headers(r, now); err != nil {
			return err
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.Header.Get("svix-id") + "." + r.Header.Get("svix-timestamp") + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, got := range signatures(r) {
			if hmac.Equal(got, want) {
				return nil
			}
		}
		return badSignature("no v1 signature in svix-signature matches")
	}
	return &source{provider: "resend", maxBody: resendMaxBody, headers: headers, verify: verify, parse: parseResend}, nil
}

// resendMaxBody bounds a Resend event: one email's event, whose largest parts
// are its recipients (at most 50), subject, tags and headers.
const resendMaxBody = 256 << 10

// resendEvent is the envelope of Resend's email events
// (resend.com/docs/dashboard/webhooks/body-parameters).
type resendEvent struct {
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      struct {
		EmailID string   `json:"email_id"`
		To      []string `json:"to"`
		Bounce  *struct {
			Message string `json:"message"`
			Type    string `json:"type"`    // Permanent, Transient or Undetermined
			SubType string `json:"subType"` // e.g. General, NoEmail, Suppressed
		} `json:"bounce"`
		Failed *struct {
			Reason string `json:"reason"`
		} `json:"failed"`
		// email.suppressed: Resend did not send because the address is on its
		// suppression list.
		Suppressed *struct {
			Message string `json:"message"`
			Reason  string `json:"reason"` // previous_bounce or previous_complaint
			Type    string `json:"type"`   // Suppressed or OnAccountSuppressionList
		} `json:"suppressed"`
	} `json:"data"`
}

// explain joins a classification and a message as "<kind>: <message>",
// leaving out whichever is empty.
func explain(kind, message string) string {
	kind, message = strings.TrimSpace(kind), strings.TrimSpace(message)
	if kind == "" || message == "" {
		return kind + message
	}
	return kind + ": " + message
}

func parseResend(r *http.Request, body []byte, now time.Time) ([]Event, error) {
	var e resendEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, malformed("not a Resend event: %v", err)
	}
	if e.Type == "" {
		return nil, malformed("not a Resend event: no type")
	}
	status, suppress, reason := "", "", ""
	switch e.Type {
	case "email.sent":
		status = Sent
	case "email.delivered":
		status = Delivered
	case "email.delivery_delayed":
		status = Delayed
	case "email.bounced":
		// "The recipient's mail server permanently rejected the email"; a bounce
		// Resend classes as Transient is a soft one, and Undetermined is not
		// certain enough to stop mailing the address.
		status, suppress = Bounced, SuppressBounced
		if b := e.Data.Bounce; b != nil {
			reason = explain(b.Type+" "+b.SubType, b.Message)
			switch b.Type {
			case "Transient":
				status, suppress = Delayed, ""
			case "Undetermined":
				suppress = ""
			}
		}
	case "email.complained":
		status, suppress = Complained, SuppressComplained
	case "email.failed":
		status = Undelivered
		if e.Data.Failed != nil {
			reason = e.Data.Failed.Reason
		}
	case "email.suppressed":
		// Resend keeps the address off because it bounced or complained
		// before; our list follows Resend's, as it follows SendGrid's drops.
		status = Undelivered
		if sp := e.Data.Suppressed; sp != nil {
			reason = explain(sp.Type+" "+sp.Reason, sp.Message)
			switch sp.Reason {
			case "previous_bounce":
				suppress = SuppressBounced
			case "previous_complaint":
				suppress = SuppressComplained
			}
		}
	default:
		return nil, nil // opens, clicks, contacts, domains: nothing to record
	}
	if e.Data.EmailID == "" {
		return nil, malformed("%s without data.email_id", e.Type)
	}
	at := e.CreatedAt
	if at.IsZero() {
		at = now
	}
	// svix-id is the same on every retry of this webhook message.
	id := r.Header.Get("svix-id")
	to := e.Data.To
	if len(to) == 0 {
		to = []string{""}
	}
	events := make([]Event, 0, len(to))
	for _, rcpt := range to {
		events = append(events, Event{Provider: "resend", MessageID: e.Data.EmailID, ProviderEvent: e.Type,
			Status: status, Recipient: rcpt, Reason: reason, At: at, Suppress: suppress,
			Key: id + ":" + rcpt, Raw: body})
	}
	return events, nil
}
