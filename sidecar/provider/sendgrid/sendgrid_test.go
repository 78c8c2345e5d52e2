package sendgrid_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/httpxtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
)

const testKey = "SG.secret_DO_NOT_LOG_456"

type setup struct {
	fake   *sendgridfake.Server
	client *sendgrid.Client
	logs   *httpxtest.Logs
}

func newSetup(t *testing.T, timeout time.Duration) setup {
	t.Helper()
	fake := sendgridfake.New(sendgridfake.Options{APIKey: testKey})
	t.Cleanup(fake.Close)
	hc, logs := httpxtest.Client()
	c, err := sendgrid.New(sendgrid.Config{APIKey: testKey, BaseURL: fake.URL(), HTTPClient: hc, Timeout: timeout})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return setup{fake: fake, client: c, logs: logs}
}

func sampleEmail() *provider.Email {
	return &provider.Email{
		From:    provider.Address{Name: "Acme", Email: "hello@acme.test"},
		To:      []provider.Address{{Name: "Ada Lovelace", Email: "ada@example.test"}, {Email: "bob@example.test"}},
		Cc:      []provider.Address{{Email: "cc@example.test"}},
		Bcc:     []provider.Address{{Email: "bcc@example.test"}},
		ReplyTo: []provider.Address{{Email: "support@acme.test"}},
		Subject: "Welcome",
		HTML:    "<p>Hi</p>",
		Text:    "Hi",
		Headers: map[string]string{"X-Entity-Ref-ID": "42"},
		Tags:    map[string]string{"category": "welcome", "campaign": "c-7"},
		Attachments: []provider.Attachment{
			{Filename: "a.txt", Content: []byte("hello"), ContentType: "text/plain"},
		},
	}
}

func TestSendGrid_SendEmailSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)

	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 42, Attempt: 1}, sampleEmail())
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/v3/mail/send" {
		t.Errorf("request = %s %s, want POST /v3/mail/send", req.Method, req.Path)
	}
	for k, v := range map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"User-Agent":    "symphony-messenger/test",
	} {
		if got := req.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if k := req.Header.Get("Idempotency-Key"); k != "" {
		t.Errorf("Idempotency-Key = %q; SendGrid documents none, and net/http would treat the POST as replayable", k)
	}
	wantBody := `{"personalizations":[{"to":[{"email":"ada@example.test","name":"Ada Lovelace"},{"email":"bob@example.test"}],` +
		`"cc":[{"email":"cc@example.test"}],"bcc":[{"email":"bcc@example.test"}]}],` +
		`"from":{"email":"hello@acme.test","name":"Acme"},"reply_to":{"email":"support@acme.test"},"subject":"Welcome",` +
		`"content":[{"type":"text/plain","value":"Hi"},{"type":"text/html","value":"<p>Hi</p>"}],` +
		`"attachments":[{"content":"aGVsbG8=","filename":"a.txt","type":"text/plain","disposition":"attachment"}],` +
		`"headers":{"X-Entity-Ref-ID":"42"},"categories":["welcome"],"custom_args":{"campaign":"c-7","category":"welcome"}}`
	if got := string(req.Body); got != wantBody {
		t.Errorf("body =\n%s\nwant\n%s", got, wantBody)
	}
	mails := s.fake.Mails()
	if len(mails) != 1 {
		t.Fatalf("mails = %d, want 1", len(mails))
	}
	if r.Provider != "sendgrid" || r.MessageID != mails[0].MessageID || r.Status != "queued" {
		t.Errorf("receipt = %+v, want sendgrid/%s/queued", r, mails[0].MessageID)
	}
}

func TestSendGrid_SendEmailMapsSeveralReplyTosAndHTMLOnly(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	e := &provider.Email{From: provider.Address{Email: "a@acme.test"}, To: []provider.Address{{Email: "b@example.test"}}, Subject: "S", HTML: "<b>x</b>",
		ReplyTo: []provider.Address{{Email: "r1@acme.test"}, {Name: "R Two", Email: "r2@acme.test"}}}
	if _, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 1}, e); err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	m := s.fake.Mails()[0]
	if m.ReplyTo != nil || len(m.ReplyToList) != 2 || m.ReplyToList[1] != (sendgridfake.Address{Email: "r2@acme.test", Name: "R Two"}) {
		t.Errorf("reply_to = %+v, reply_to_list = %+v", m.ReplyTo, m.ReplyToList)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "text/html" || m.Categories != nil || m.CustomArgs != nil {
		t.Errorf("content = %+v, categories = %v, custom_args = %v", m.Content, m.Categories, m.CustomArgs)
	}
}

func TestSendGrid_SendEmailClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     []fakehttp.Fault
		email      func(*provider.Email)
		permanent  bool
		maybeSent  bool
		status     int
		code       string
		retryAfter time.Duration
	}{
		{name: "RateLimitIsTransientWithReset", faults: []fakehttp.Fault{fakehttp.RateLimited("")},
			status: 429, retryAfter: time.Second},
		{name: "RateLimitPrefersRetryAfter", faults: []fakehttp.Fault{fakehttp.RateLimited("30")},
			status: 429, retryAfter: 30 * time.Second},
		{name: "ValidationErrorIsPermanentWithField", email: func(e *provider.Email) { e.Subject = "" },
			permanent: true, status: 400, code: "subject"},
		{name: "DuplicateRecipientIsPermanent", email: func(e *provider.Email) { e.Cc = []provider.Address{{Email: "ada@example.test"}} },
			permanent: true, status: 400, code: "personalizations.0"},
		{name: "UnauthorizedIsPermanent", faults: []fakehttp.Fault{sendgridfake.ErrorFault(401, "", "Maximum credits exceeded")},
			permanent: true, status: 401},
		{name: "ForbiddenSenderIsPermanent", faults: []fakehttp.Fault{sendgridfake.ErrorFault(403, "from",
			"The from address does not match a verified Sender Identity.")}, permanent: true, status: 403, code: "from"},
		{name: "PayloadTooLargeIsPermanent", faults: []fakehttp.Fault{fakehttp.Status(413)}, permanent: true, status: 413},
		{name: "ServerErrorIsTransientAndMaybeSent", faults: []fakehttp.Fault{fakehttp.Status(500)},
			status: 500, maybeSent: true},
		{name: "UnavailableIsTransientNotSent", faults: []fakehttp.Fault{fakehttp.Status(503)}, status: 503},
		{name: "SandboxOKIsPermanent", faults: []fakehttp.Fault{{Kind: fakehttp.KindStatus, Status: 200, Body: " "}},
			permanent: true, status: 200, code: "sandbox_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, 5*time.Second)
			s.fake.Inject(tt.faults...)
			e := sampleEmail()
			if tt.email != nil {
				tt.email(e)
			}
			_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 7}, e)
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *provider.Error", err)
			}
			if pe.Permanent != tt.permanent || pe.StatusCode != tt.status || pe.Code != tt.code || pe.MaybeSent != tt.maybeSent {
				t.Errorf("got permanent=%v status=%d code=%q maybeSent=%v; want %v %d %q %v",
					pe.Permanent, pe.StatusCode, pe.Code, pe.MaybeSent, tt.permanent, tt.status, tt.code, tt.maybeSent)
			}
			// X-RateLimit-Reset has one-second resolution; allow for it.
			if pe.RetryAfter > tt.retryAfter || pe.RetryAfter < tt.retryAfter-time.Second {
				t.Errorf("RetryAfter = %v, want about %v", pe.RetryAfter, tt.retryAfter)
			}
			if pe.Message == "" {
				t.Error("Message is empty")
			}
			if n := s.fake.RequestCount(); n != 1 {
				t.Errorf("requests = %d, want 1: nothing here may be retried in-process", n)
			}
		})
	}
}

func TestSendGrid_SendEmailDoesNotRetryUnknownOutcome(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(fakehttp.ResetAfterAccept())

	_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 3}, sampleEmail())
	if err == nil || provider.IsPermanent(err) || !provider.MaybeSent(err) {
		t.Fatalf("err = %v, want transient and MaybeSent", err)
	}
	if n := s.fake.RequestCount(); n != 1 {
		t.Errorf("requests = %d, want 1: a retry could send the email twice", n)
	}
	if n := len(s.fake.Mails()); n != 1 {
		t.Errorf("mails = %d, want 1 (accepted before the connection dropped)", n)
	}
}

func TestSendGrid_SendEmailResetBeforeAcceptIsTransient(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(fakehttp.Reset())
	_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 3}, sampleEmail())
	if err == nil || provider.IsPermanent(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	if n := len(s.fake.Mails()); n != 0 {
		t.Errorf("mails = %d, want 0", n)
	}
}

func TestSendGrid_SendEmailMalformedSuccessIsAccepted(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(fakehttp.Malformed())
	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 3}, sampleEmail())
	if err != nil || r.Status != "queued" || r.MessageID != "" || r.Extra["warning"] == nil {
		t.Fatalf("receipt %+v, err %v; want accepted without id, with a warning", r, err)
	}
}

func TestSendGrid_SendEmailTimesOutSlowAnswer(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 100*time.Millisecond)
	s.fake.Inject(fakehttp.Slow(2 * time.Second))
	_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 4}, sampleEmail())
	if err == nil || provider.IsPermanent(err) || !provider.MaybeSent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want transient deadline error that may have sent", err)
	}
}

func TestSendGrid_SendEmailConnectionRefusedIsNotMaybeSent(t *testing.T) {
	t.Parallel()
	fake := sendgridfake.New(sendgridfake.Options{APIKey: testKey})
	url := fake.URL()
	fake.Close()
	hc := httpx.New(httpx.Config{RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	c, _ := sendgrid.New(sendgrid.Config{APIKey: testKey, BaseURL: url, HTTPClient: hc})
	_, err := c.SendEmail(context.Background(), provider.Send{MessageID: 1}, sampleEmail())
	if err == nil || provider.IsPermanent(err) || provider.MaybeSent(err) {
		t.Fatalf("err = %v, want transient, not MaybeSent (nothing reached SendGrid)", err)
	}
}

func TestSendGrid_SecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 200*time.Millisecond)
	s.fake.Inject(fakehttp.Status(500), fakehttp.Reset(), fakehttp.RateLimited("1"), fakehttp.Status(401), fakehttp.Slow(time.Second))
	for i := range 5 {
		_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: int64(i)}, sampleEmail())
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	logs := s.logs.String()
	if logs == "" {
		t.Fatal("no logs captured; the test would prove nothing")
	}
	for _, secret := range []string{testKey, "Bearer", "<p>Hi</p>", "aGVsbG8="} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestSendGrid_NewValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]sendgrid.Config{
		"APIKey":  {},
		"BaseURL": {APIKey: "k", BaseURL: "https://k:secret@api.sendgrid.com"},
		"Timeout": {APIKey: "k", Timeout: -time.Second},
	} {
		_, err := sendgrid.New(cfg)
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%s) err = %v", name, err)
		}
	}
	c, err := sendgrid.New(sendgrid.Config{APIKey: "k"})
	if err != nil || c.Name() != "sendgrid" {
		t.Fatalf("New: %v", err)
	}
}

// SendGrid takes a mailbox as {email, name}: the name goes apart, as written,
// commas and all; the email is the bare address (the fake, as SendGrid,
// refuses anything else there).
func TestSendGrid_SendEmailSplitsNamesFromAddresses(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	e := sampleEmail()
	e.From = provider.Address{Name: "Acme, Inc.", Email: "hello@acme.test"}
	e.To = []provider.Address{{Name: "Doe, John", Email: "john@example.test"}}
	if _, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 1}, e); err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	m := s.fake.Mails()[0]
	if *m.From != (sendgridfake.Address{Email: "hello@acme.test", Name: "Acme, Inc."}) ||
		m.Personalizations[0].To[0] != (sendgridfake.Address{Email: "john@example.test", Name: "Doe, John"}) {
		t.Errorf("from %+v, to %+v", m.From, m.Personalizations[0].To)
	}
}
