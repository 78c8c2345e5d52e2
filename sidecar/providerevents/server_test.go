package providerevents

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

// countingBody records how much of a body was read.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// Requests that their headers condemn are refused before a byte of their
// body is read: no signature, a malformed or stale one, wrong credentials, or
// a declared length over the provider's cap.
func TestServer_RefusesOnHeadersBeforeReadingTheBody(t *testing.T) {
	t.Parallel()
	token := "0123456789abcdef0123456789abcdef"
	_, sgKey := eventsfake.NewSendGridKey()
	s, err := New(Config{Store: NewStore(nil), ResendSecret: eventsfake.NewResendSecret(), SendGridPublicKey: sgKey,
		PostmarkUser: "postmark", PostmarkPassword: strings.Repeat("p", 24), TwilioAuthToken: token,
		PublicURL: "https://sidecar.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	stale := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	big := int64(twilioMaxBody + 1)
	for _, c := range []struct {
		name, path string
		h          http.Header
		length     int64 // declared; 0: the body's own
		code       int
	}{
		{"ResendUnsigned", ResendPath, nil, 0, 401},
		{"ResendNoV1Signature", ResendPath, http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Svix-Signature": {"v2,abc"}}, 0, 403},
		{"ResendStale", ResendPath, http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {stale}, "Svix-Signature": {"v1,bm9wZQ=="}}, 0, 403},
		{"SendGridUnsigned", SendGridPath, nil, 0, 401},
		{"SendGridNotASignature", SendGridPath, http.Header{sendGridSignature: {"bm9wZQ=="}, sendGridTimestamp: {strconv.FormatInt(now.Unix(), 10)}}, 0, 403},
		{"PostmarkNoCredentials", PostmarkPath, nil, 0, 401},
		{"PostmarkWrongCredentials", PostmarkPath, eventsfake.Postmark("postmark", "wrong-password-here"), 0, 401},
		{"TwilioUnsigned", TwilioStatusPath, nil, 0, 401},
		{"TwilioNotAnHMAC", TwilioInboundPath, http.Header{"X-Twilio-Signature": {"bm9wZQ=="}}, 0, 403},
		{"TwilioOverItsCap", TwilioStatusPath, eventsfake.Twilio(token, "https://sidecar.example.com"+TwilioStatusPath, form), big, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := &countingBody{r: bytes.NewReader(bytes.Repeat([]byte("x"), 4096))}
			r := httptest.NewRequest(http.MethodPost, c.path, nil)
			r.Body, r.ContentLength = body, 4096
			if c.length > 0 {
				r.ContentLength = c.length
			}
			for k, v := range c.h {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != c.code || body.read != 0 || w.Header().Get("Connection") != "close" {
				t.Fatalf("%d, %d bytes of the body read, Connection %q; want %d, none read, close",
					w.Code, body.read, w.Header().Get("Connection"), c.code)
			}
		})
	}
}

// A body longer than declared, or with no declared length, is still cut at
// the provider's cap.
func TestServer_BodiesCappedPerProvider(t *testing.T) {
	t.Parallel()
	token := "0123456789abcdef0123456789abcdef"
	s, err := New(Config{Store: NewStore(nil), TwilioAuthToken: token, PublicURL: "https://sidecar.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "Body": {strings.Repeat("x", twilioMaxBody)}}
	r := httptest.NewRequest(http.MethodPost, TwilioInboundPath, strings.NewReader(form.Encode()))
	r.ContentLength = -1 // chunked
	for k, v := range eventsfake.Twilio(token, "https://sidecar.example.com"+TwilioInboundPath, form) {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a %d-byte Twilio form of undeclared length: %d %s", len(form.Encode()), w.Code, w.Body)
	}
}
