package providerevents

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

func request(path string, h http.Header, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}

// wantRejection checks err is a rejection with the answer code and metric label.
func wantRejection(t *testing.T, err error, code int, outcome string) {
	t.Helper()
	rej, ok := err.(*rejection)
	if !ok || rej.code != code || rej.outcome != outcome {
		t.Fatalf("got %v (%#v), want %d %s", err, err, code, outcome)
	}
}

func TestResend_Verify(t *testing.T) {
	t.Parallel()
	secret := eventsfake.NewResendSecret()
	src, err := newResend(secret, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"type":"email.delivered","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e1","to":["a@example.com"]}}`)
	h := eventsfake.Resend(secret, "msg_1", now, body)
	if err := src.verify(request(ResendPath, h, body), body, now); err != nil {
		t.Fatalf("a signed request: %v", err)
	}

	t.Run("SvixExample", func(t *testing.T) {
		// Svix's documented example, verified at its own time.
		src, err := newResend("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", DefaultTolerance)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"test": 2432232314}`)
		h := http.Header{"Svix-Id": {"msg_p5jXN8AQM9LWM0D4loKWxJek"}, "Svix-Timestamp": {"1614265330"},
			"Svix-Signature": {"v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}} // a rotated-out one first
		if err := src.verify(request(ResendPath, h, body), body, time.Unix(1614265330+60, 0)); err != nil {
			t.Fatalf("Svix's example: %v", err)
		}
	})
	t.Run("Unsigned", func(t *testing.T) {
		wantRejection(t, src.verify(request(ResendPath, nil, body), body, now), 401, "unauthorized")
	})
	t.Run("WrongSecret", func(t *testing.T) {
		h := eventsfake.Resend(eventsfake.NewResendSecret(), "msg_1", now, body)
		wantRejection(t, src.verify(request(ResendPath, h, body), body, now), 403, "bad_signature")
	})
	t.Run("ChangedBody", func(t *testing.T) {
		changed := bytes.Replace(body, []byte("a@example.com"), []byte("b@example.com"), 1)
		wantRejection(t, src.verify(request(ResendPath, h, changed), changed, now), 403, "bad_signature")
	})
	t.Run("Stale", func(t *testing.T) {
		old := eventsfake.Resend(secret, "msg_1", now.Add(-6*time.Minute), body)
		wantRejection(t, src.verify(request(ResendPath, old, body), body, now), 403, "stale")
		future := eventsfake.Resend(secret, "msg_1", now.Add(6*time.Minute), body)
		wantRejection(t, src.verify(request(ResendPath, future, body), body, now), 403, "stale")
	})
	t.Run("BadSecret", func(t *testing.T) {
		_, err := newResend("whsec_not base64!", DefaultTolerance)
		if err == nil || !strings.Contains(err.Error(), "RESEND_WEBHOOK_SECRET") || strings.Contains(err.Error(), "not base64!") {
			t.Fatalf("%v: want an error naming the variable, not the value", err)
		}
	})
}

func TestSendGrid_Verify(t *testing.T) {
	t.Parallel()
	key, public := eventsfake.NewSendGridKey()
	src, err := newSendGrid(public, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`[{"email":"a@example.com","timestamp":1,"event":"delivered","sg_message_id":"m.filter1"}]`)
	h := eventsfake.SendGrid(key, now, body)
	if err := src.verify(request(SendGridPath, h, body), body, now); err != nil {
		t.Fatalf("a signed request: %v", err)
	}

	t.Run("SendGridExample", func(t *testing.T) {
		// The example in sendgrid-go's helpers/eventwebhook tests.
		src, err := newSendGrid("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==", DefaultTolerance)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"category":"example_payload","event":"test_event","message_id":"message_id"}`)
		h := http.Header{"X-Twilio-Email-Event-Webhook-Signature": {"MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="},
			"X-Twilio-Email-Event-Webhook-Timestamp": {"1588788367"}}
		if err := src.verify(request(SendGridPath, h, body), body, time.Unix(1588788367, 0)); err != nil {
			t.Fatalf("SendGrid's example: %v", err)
		}
	})
	t.Run("Unsigned", func(t *testing.T) {
		wantRejection(t, src.verify(request(SendGridPath, nil, body), body, now), 401, "unauthorized")
	})
	t.Run("OtherKey", func(t *testing.T) {
		other, _ := eventsfake.NewSendGridKey()
		h := eventsfake.SendGrid(other, now, body)
		wantRejection(t, src.verify(request(SendGridPath, h, body), body, now), 403, "bad_signature")
	})
	t.Run("TimestampIsSigned", func(t *testing.T) {
		// A signature replayed with a fresh timestamp does not verify.
		h := eventsfake.SendGrid(key, now.Add(-time.Hour), body)
		h.Set("X-Twilio-Email-Event-Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
		wantRejection(t, src.verify(request(SendGridPath, h, body), body, now), 403, "bad_signature")
	})
	t.Run("Stale", func(t *testing.T) {
		h := eventsfake.SendGrid(key, now.Add(-10*time.Minute), body)
		wantRejection(t, src.verify(request(SendGridPath, h, body), body, now), 403, "stale")
	})
	t.Run("BadKey", func(t *testing.T) {
		if _, err := newSendGrid("MFkwEwYHKoZIzj0CAQ==", DefaultTolerance); err == nil || !strings.Contains(err.Error(), "SENDGRID_WEBHOOK_PUBLIC_KEY") {
			t.Fatalf("%v: want an error naming the variable", err)
		}
	})
}

func TestPostmark_Verify(t *testing.T) {
	t.Parallel()
	user, pass := "postmark", strings.Repeat("p", 24)
	src, err := newPostmark(user, pass)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"RecordType":"Delivery"}`)
	if err := src.verify(request(PostmarkPath, eventsfake.Postmark(user, pass), body), body, time.Now()); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	wantRejection(t, src.verify(request(PostmarkPath, nil, body), body, time.Now()), 401, "unauthorized")
	wantRejection(t, src.verify(request(PostmarkPath, eventsfake.Postmark(user, pass+"x"), body), body, time.Now()), 401, "unauthorized")
	wantRejection(t, src.verify(request(PostmarkPath, eventsfake.Postmark("other", pass), body), body, time.Now()), 401, "unauthorized")

	if _, err := newPostmark(user, "short"); err == nil || !strings.Contains(err.Error(), "POSTMARK_WEBHOOK_PASSWORD is 5 characters") {
		t.Fatalf("a short password: %v", err)
	}
	if _, err := newPostmark("", pass); err == nil || !strings.Contains(err.Error(), "POSTMARK_WEBHOOK_USER") {
		t.Fatalf("a password without a user: %v", err)
	}
}

func TestTwilio_Verify(t *testing.T) {
	t.Parallel()
	token := "0123456789abcdef0123456789abcdef"
	status, _, err := newTwilio(token, "https://sidecar.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "To": {"+14155550100"}, "AccountSid": {"AC1"}}
	body := []byte(form.Encode())
	h := eventsfake.Twilio(token, "https://sidecar.example.com"+TwilioStatusPath+"?attempt=1", form)
	if err := status.verify(request(TwilioStatusPath+"?attempt=1", h, body), body, time.Now()); err != nil {
		t.Fatalf("signed over the public URL with its query: %v", err)
	}

	t.Run("TwilioExample", func(t *testing.T) {
		src, _, err := newTwilio("12345", "https://mycompany.com")
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
			"From": {"+12349013030"}, "To": {"+18005551212"}}
		body := []byte(form.Encode())
		h := http.Header{"X-Twilio-Signature": {"0/KCTR6DLpKmkAf8muzZqo1nDgQ="}}
		if err := src.verify(request("/myapp.php?foo=1&bar=2", h, body), body, time.Now()); err != nil {
			t.Fatalf("Twilio's example: %v", err)
		}
	})
	t.Run("DefaultPort", func(t *testing.T) {
		// Twilio signs the URL as configured in the console, which may spell
		// out the scheme's default port; its own validators accept either form.
		for _, c := range []struct{ public, signed string }{
			{"https://sidecar.example.com", "https://sidecar.example.com:443"},
			{"https://sidecar.example.com:443", "https://sidecar.example.com"},
			{"http://sidecar.example.com", "http://sidecar.example.com:80"},
			{"http://sidecar.example.com:80/", "http://sidecar.example.com"},
		} {
			src, _, err := newTwilio(token, c.public)
			if err != nil {
				t.Fatal(err)
			}
			h := eventsfake.Twilio(token, c.signed+TwilioStatusPath+"?attempt=1", form)
			if err := src.verify(request(TwilioStatusPath+"?attempt=1", h, body), body, time.Now()); err != nil {
				t.Errorf("public URL %s, signed over %s: %v", c.public, c.signed, err)
			}
		}
		// Any other port is another URL.
		for _, signed := range []string{"https://sidecar.example.com:8443", "https://sidecar.example.com:80", "http://sidecar.example.com:443"} {
			h := eventsfake.Twilio(token, signed+TwilioStatusPath, form)
			wantRejection(t, status.verify(request(TwilioStatusPath, h, body), body, time.Now()), 403, "bad_signature")
		}
	})
	t.Run("Unsigned", func(t *testing.T) {
		wantRejection(t, status.verify(request(TwilioStatusPath, nil, body), body, time.Now()), 401, "unauthorized")
	})
	t.Run("SignedForAnotherHost", func(t *testing.T) {
		// What a sidecar would compute from the Host it sees behind a proxy.
		h := eventsfake.Twilio(token, "http://10.0.0.7:8082"+TwilioStatusPath, form)
		wantRejection(t, status.verify(request(TwilioStatusPath, h, body), body, time.Now()), 403, "bad_signature")
	})
	t.Run("ChangedParameter", func(t *testing.T) {
		changed := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "To": {"+14155550100"}, "AccountSid": {"AC1"}}
		b := []byte(changed.Encode())
		h := eventsfake.Twilio(token, "https://sidecar.example.com"+TwilioStatusPath, form)
		wantRejection(t, status.verify(request(TwilioStatusPath, h, b), b, time.Now()), 403, "bad_signature")
	})
	t.Run("BadPublicURL", func(t *testing.T) {
		for _, u := range []string{"sidecar.example.com", "ftp://x", "https://x/?a=1"} {
			if _, _, err := newTwilio(token, u); err == nil || !strings.Contains(err.Error(), "SYMPHONY_PUBLIC_URL") {
				t.Errorf("%q: %v", u, err)
			}
		}
	})
}
