package providerevents

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Twilio's "Secure webhooks" (twilio.com/docs/usage/webhooks/webhooks-security):
// X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + each POST parameter,
// sorted by name, as name followed by value, with no delimiters)), where URL is
// the full URL Twilio requested, query included. Behind Fly's proxy the sidecar
// sees neither the scheme nor the public host, so the URL is PublicURL followed
// by the path and query received. Twilio signs no timestamp, so a signed
// request can be posted again at any time: recording is idempotent, and
// opt-outs and opt-ins apply in event order, once (symphony.opt_events).
//
// The URL in the console may spell out the scheme's default port
// (https://host:443/…) or not, and Twilio signs it as written; like Twilio's
// own validators, a signature over either form is accepted.
func newTwilio(authToken, publicURL string) (status, inbound *source, err error) {
	bases, err := twilioBases(publicURL)
	if err != nil {
		return nil, nil, err
	}
	headers := func(r *http.Request, _ time.Time) error {
		sig := r.Header.Get("X-Twilio-Signature")
		if sig == "" {
			return unauthorized("X-Twilio-Signature is required")
		}
		if mac, err := base64.StdEncoding.DecodeString(sig); err != nil || len(mac) != sha1.Size {
			return badSignature("X-Twilio-Signature is not a base64 HMAC-SHA1")
		}
		return nil
	}
	verify := func(r *http.Request, body []byte, now time.Time) error {
		if err := headers(r, now); err != nil {
			return err
		}
		sig := r.Header.Get("X-Twilio-Signature")
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return malformed("not a form-encoded body: %v", err)
		}
		for _, base := range bases {
			if hmac.Equal([]byte(sig), []byte(twilioSignature(authToken, base+r.URL.RequestURI(), form))) {
				return nil
			}
		}
		return badSignature("X-Twilio-Signature does not match (is SYMPHONY_PUBLIC_URL the URL Twilio calls?)")
	}
	return &source{provider: "twilio", maxBody: twilioMaxBody, headers: headers, verify: verify, parse: parseTwilioStatus},
		&source{provider: "twilio", maxBody: twilioMaxBody, headers: headers, verify: verify, parse: parseTwilioInbound, answer: emptyTwiML}, nil
}

// twilioMaxBody bounds a Twilio webhook: a form of a few dozen parameters,
// the largest an incoming message's text (at most 1,600 characters) and its
// media URLs (at most ten).
const twilioMaxBody = 64 << 10

// twilioBases is the public root without and with the scheme's default port
// (443 for https, 80 for http), or as given when it names another port.
func twilioBases(publicURL string) ([]string, error) {
	u, err := url.Parse(strings.TrimRight(publicURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("SYMPHONY_PUBLIC_URL must be the absolute http(s) URL providers reach the webhooks at, without query, e.g. https://my-sidecar.fly.dev")
	}
	defaultPort := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if p := u.Port(); p != "" && p != defaultPort {
		return []string{u.String()}, nil
	}
	bare, explicit := *u, *u
	bare.Host = u.Hostname()
	if strings.Contains(bare.Host, ":") {
		bare.Host = "[" + bare.Host + "]" // an IPv6 literal
	}
	explicit.Host = net.JoinHostPort(u.Hostname(), defaultPort)
	return []string{bare.String(), explicit.String()}, nil
}

func twilioSignature(token, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	mac := hmac.New(sha1.New, []byte(token))
	io.WriteString(mac, fullURL)
	for _, k := range names {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs) // a repeated parameter: each value, in order
		for _, v := range vs {
			io.WriteString(mac, k)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SMS error codes a status callback carries that say the number is no good
// (twilio.com/docs/api/errors): 21610 the recipient replied STOP, 30005 unknown
// or inactive number, 30006 a landline or unreachable carrier. Others (30003
// phone off, 30007 carrier filtering, …) concern this message only.
var twilioSuppress = map[string]string{"21610": SuppressStop, "30005": SuppressBounced, "30006": SuppressBounced}

// parseTwilioStatus reads a Messaging status callback: MessageSid,
// MessageStatus, ErrorCode, To, … (form-encoded).
func parseTwilioStatus(_ *http.Request, body []byte, now time.Time) ([]Event, error) {
	form, _ := url.ParseQuery(string(body)) // verify has parsed it already
	sid, st, code := form.Get("MessageSid"), form.Get("MessageStatus"), form.Get("ErrorCode")
	if sid == "" || st == "" {
		return nil, malformed("a status callback needs MessageSid and MessageStatus")
	}
	ev := Event{Provider: "twilio", MessageID: sid, ProviderEvent: st, Recipient: form.Get("To"), Reason: code,
		At: now, Key: sid + "|" + st + "|" + code, Raw: formJSON(form)}
	switch st {
	case "sent":
		ev.Status = Sent
	case "delivered", "read":
		ev.Status = Delivered
	case "undelivered", "failed":
		ev.Status, ev.Suppress = Undelivered, twilioSuppress[code]
	default:
		return nil, nil // queued, accepted, scheduled, sending, canceled: not news
	}
	return []Event{ev}, nil
}

// Twilio's default opt-out and opt-in keywords (Messaging Services' Advanced
// Opt-Out docs): a message that is only the keyword, in any case.
var (
	twilioStop  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	twilioStart = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// parseTwilioInbound reads an incoming message webhook for opt-outs: with
// Advanced Opt-Out, Twilio says OptOutType (STOP, START, HELP); otherwise the
// body is matched against Twilio's default keywords, which Twilio enforces
// whatever we do. Other messages are not ours to handle.
//
// The request carries no time and MessageSid is not ordered, so the event is
// dated when first received (Twilio posts it as the message arrives) and known
// by its MessageSid: symphony.apply_opt_event ignores a copy of it and lets no
// older event override a newer one.
func parseTwilioInbound(_ *http.Request, body []byte, now time.Time) ([]Event, error) {
	form, _ := url.ParseQuery(string(body))
	from, sid := form.Get("From"), form.Get("MessageSid")
	if from == "" || sid == "" {
		return nil, malformed("an incoming message needs From and MessageSid")
	}
	kind := strings.ToUpper(form.Get("OptOutType"))
	if kind == "" {
		switch word := strings.ToUpper(strings.TrimSpace(form.Get("Body"))); {
		case twilioStop[word]:
			kind = "STOP"
		case twilioStart[word]:
			kind = "START"
		}
	}
	ev := Event{Provider: "twilio", ProviderEvent: "inbound " + kind, Recipient: from, At: now,
		Key: sid + "|inbound", Raw: formJSON(form)}
	switch kind {
	case "STOP":
		ev.Status, ev.Suppress = OptOut, SuppressStop
	case "START":
		ev.Status = OptIn
	default:
		return nil, nil
	}
	return []Event{ev}, nil
}

// emptyTwiML answers an incoming message with no reply of our own (Twilio
// sends its own opt-out confirmation).
func emptyTwiML(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
}

func formJSON(form url.Values) json.RawMessage {
	m := make(map[string]string, len(form))
	for k := range form {
		m[k] = form.Get(k)
	}
	b, _ := json.Marshal(m)
	return b
}
