package eventsfake_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

// The examples the providers publish, so the signers sign as the providers do.

// Svix's documented example (docs.svix.com, "How to Verify Webhooks").
func TestResend_SignsAsSvixDocuments(t *testing.T) {
	h := eventsfake.Resend("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if got, want := h.Get("svix-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("svix-signature %q, want Svix's %q", got, want)
	}
	if h.Get("svix-timestamp") != "1614265330" || h.Get("svix-id") != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
		t.Fatalf("headers %v", h)
	}
}

// Twilio's documented example (twilio.com/docs/usage/security): a voice
// webhook to https://mycompany.com/myapp.php?foo=1&bar=2 with auth token 12345.
func TestTwilio_SignsAsTwilioDocuments(t *testing.T) {
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	h := eventsfake.Twilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if got, want := h.Get("X-Twilio-Signature"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Fatalf("X-Twilio-Signature %q, want Twilio's %q", got, want)
	}
}
