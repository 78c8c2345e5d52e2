package providerevents

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SendGrid's Signed Event Webhook ("Getting Started with the Event Webhook
// Security Features", twilio.com/docs/sendgrid/for-developers/tracking-events/
// getting-started-event-webhook-security-features, and sendgrid-go's
// helpers/eventwebhook): an ECDSA P-256 signature, ASN.1 DER and base64, over
// SHA-256 of the X-Twilio-Email-Event-Webhook-Timestamp value followed by the
// raw body, in X-Twilio-Email-Event-Webhook-Signature. The verification key
// shown in Mail Settings is a base64 DER (PKIX) public key.
const (
	sendGridSignature = "X-Twilio-Email-Event-Webhook-Signature"
	sendGridTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// ParseSendGridKey reads the verification key as SendGrid shows it (base64
// DER), or as PEM.
func ParseSendGridKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if b, _ := pem.Decode([]byte(s)); b != nil {
		der = b.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, err
		}
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return pub, nil
}

func newSendGrid(key string, tolerance time.Duration) (*source, error) {
	pub, err := ParseSendGridKey(key)
	if err != nil {
		return nil, errors.New("SENDGRID_WEBHOOK_PUBLIC_KEY is not the Signed Event Webhook's verification key (base64 DER ECDSA P-256 public key): " + err.Error())
	}
	headers := func(r *http.Request, now time.Time) error {
		sig, ts := r.Header.Get(sendGridSignature), r.Header.Get(sendGridTimestamp)
		if sig == "" || ts == "" {
			return unauthorized("%s and %s are required", sendGridSignature, sendGridTimestamp)
		}
		if err := checkTimestamp(sendGridTimestamp, ts, now, tolerance); err != nil {
			return err
		}
		// An ASN.1 DER ECDSA P-256 signature: a sequence of two integers of
		// at most 33 bytes each, 8 to 72 bytes in all.
		if der, err := base64.StdEncoding.DecodeString(sig); err != nil || len(der) < 8 || len(der) > 72 {
			return badSignature("%s is not a base64 ECDSA signature", sendGridSignature)
		}
		return nil
	}
	verify := func(r *http.Request, body []byte, now time.Time) error {
		if err := headers(r, now); err != nil {
			return err
		}
		ts := r.Header.Get(sendGridTimestamp)
		der, _ := base64.StdEncoding.DecodeString(r.Header.Get(sendGridSignature)) // headers has checked it
		h := sha256.New()
		h.Write([]byte(ts))
		h.Write(body)
		if !ecdsa.VerifyASN1(pub, h.Sum(nil), der) {
			return badSignature("%s does not verify", sendGridSignature)
		}
		return nil
	}
	return &source{provider: "sendgrid", maxBody: MaxBody, headers: headers, verify: verify, parse: parseSendGrid}, nil
}

// sendGridEvent is one element of the posted array
// (twilio.com/docs/sendgrid/for-developers/tracking-events/event).
type sendGridEvent struct {
	Email       string `json:"email"`
	Timestamp   int64  `json:"timestamp"`
	Event       string `json:"event"`
	SGMessageID string `json:"sg_message_id"`
	Type        string `json:"type"` // bounce events: bounce (hard) or blocked
	Reason      string `json:"reason"`
	Response    string `json:"response"`
	Status      string `json:"status"`
}

func parseSendGrid(_ *http.Request, body []byte, now time.Time) ([]Event, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, malformed("not a SendGrid event array: %v", err)
	}
	events := make([]Event, 0, len(raws))
	for i, raw := range raws {
		var e sendGridEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, malformed("event %d: %v", i, err)
		}
		status, suppress, reason := "", "", firstOf(e.Reason, e.Response)
		switch e.Event {
		case "processed":
			status = Sent
		case "delivered":
			status = Delivered
		case "deferred":
			status = Delayed
		case "bounce":
			// type "blocked" is a refusal of this message (an IP block, content);
			// "bounce" is the address itself.
			status, suppress = Bounced, SuppressBounced
			if e.Type == "blocked" {
				status, suppress = Undelivered, ""
			}
		case "dropped":
			// Dropped before sending, often because SendGrid's own suppression
			// list has the address; keep ours in step with it.
			status = Undelivered
			switch e.Reason {
			case "Bounced Address":
				suppress = SuppressBounced
			case "Spam Reporting Address":
				suppress = SuppressComplained
			case "Unsubscribed Address":
				suppress = SuppressUnsubscribed
			}
		case "spamreport":
			status, suppress = Complained, SuppressComplained
		case "unsubscribe", "group_unsubscribe":
			status, suppress = OptOut, SuppressUnsubscribed
		default:
			continue // open, click, group_resubscribe, account events
		}
		if e.SGMessageID == "" && status != OptOut {
			return nil, malformed("event %d (%s) has no sg_message_id", i, e.Event)
		}
		at := now
		if e.Timestamp > 0 {
			at = time.Unix(e.Timestamp, 0)
		}
		id := sendGridMessageID(e.SGMessageID)
		// sg_event_id is not stable across SendGrid's retries, so the key is
		// what the event says, not its id.
		key := strings.Join([]string{e.SGMessageID, e.Event, e.Type, e.Email, strconv.FormatInt(e.Timestamp, 10)}, "|")
		events = append(events, Event{Provider: "sendgrid", MessageID: id, ProviderEvent: e.Event, Status: status,
			Recipient: e.Email, Reason: reason, At: at, Suppress: suppress, Key: key, Raw: raw})
	}
	return events, nil
}

// sendGridMessageID is the X-Message-Id the send was answered with: the part of
// sg_message_id before the receiving server's suffix (".filter…" or ".recvd-…").
func sendGridMessageID(sg string) string {
	for _, sep := range []string{".filter", ".recvd"} {
		if i := strings.Index(sg, sep); i > 0 {
			return sg[:i]
		}
	}
	id, _, _ := strings.Cut(sg, ".")
	return id
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
