package postmark_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/httpxtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
)

const testToken = "pm-secret-DO-NOT-LOG-789"

type setup struct {
	fake   *postmarkfake.Server
	client *postmark.Client
	logs   *httpxtest.Logs
}

func newSetup(t *testing.T, timeout time.Duration, opts postmarkfake.Options, stream string) setup {
	t.Helper()
	opts.ServerToken = testToken
	fake := postmarkfake.New(opts)
	t.Cleanup(fake.Close)
	hc, logs := httpxtest.Client()
	c, err := postmark.New(postmark.Config{ServerToken: testToken, BaseURL: fake.URL(), HTTPClient: hc,
		Timeout: timeout, MessageStream: stream})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return setup{fake: fake, client: c, logs: logs}
}

func sampleEmail() *provider.Email {
	return &provider.Email{
		From:    provider.Address{Name: "Acme", Email: "hello@acme.test"},
		To:      []provider.Address{{Name: "Lovelace, Ada", Email: "ada@example.test"}, {Email: "bob@example.test"}},
		Cc:      []provider.Address{{Email: "cc@example.test"}},
		Bcc:     []provider.Address{{Email: "bcc@example.test"}},
		ReplyTo: []provider.Address{{Email: "support@acme.test"}},
		Subject: "Welcome",
		HTML:    "<p>Hi</p>",
		Text:    "Hi",
		Headers: map[string]string{"X-Entity-Ref-ID": "42", "X-A": "1"},
		Tags:    map[string]string{"category": "welcome", "campaign": "c-7"},
		Attachments: []provider.Attachment{
			{Filename: "a.txt", Content: []byte("hello"), ContentType: "text/plain"},
			{Filename: "r.pdf", Content: []byte("%PDF")},
		},
	}
}

func TestPostmark_SendEmailSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second, postmarkfake.Options{}, "outbound")

	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 42, Attempt: 1}, sampleEmail())
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/email" {
		t.Errorf("request = %s %s, want POST /email", req.Method, req.Path)
	}
	for k, v := range map[string]string{
		"X-Postmark-Server-Token": testToken,
		"Accept":                  "application/json",
		"Content-Type":            "application/json",
		"User-Agent":              "symphony-messenger/test",
	} {
		if got := req.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if req.Header.Get("Authorization") != "" || req.Header.Get("Idempotency-Key") != "" {
		t.Error("unexpected Authorization or Idempotency-Key header")
	}
	wantBody := `{"From":"Acme <hello@acme.test>","To":"\"Lovelace, Ada\" <ada@example.test>, bob@example.test",` +
		`"Cc":"cc@example.test","Bcc":"bcc@example.test","Subject":"Welcome","Tag":"welcome","HtmlBody":"<p>Hi</p>",` +
		`"TextBody":"Hi","ReplyTo":"support@acme.test","Headers":[{"Name":"X-A","Value":"1"},` +
		`{"Name":"X-Entity-Ref-ID","Value":"42"}],"Metadata":{"campaign":"c-7","category":"welcome"},` +
		`"Attachments":[{"Name":"a.txt","Content":"aGVsbG8=","ContentType":"text/plain"},` +
		`{"Name":"r.pdf","Content":"JVBERg==","ContentType":"application/pdf"}],"MessageStream":"outbound"}`
	if got := string(req.Body); got != wantBody {
		t.Errorf("body =\n%s\nwant\n%s", got, wantBody)
	}
	msgs := s.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("messages = %d, want 1", len(msgs))
	}
	if r.Provider != "postmark" || r.MessageID != msgs[0].MessageID || r.Status != "submitted" || r.Extra["submitted_at"] == nil {
		t.Errorf("receipt = %+v, want postmark/%s/submitted with submitted_at", r, msgs[0].MessageID)
	}
}

func TestPostmark_SendEmailClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     []fakehttp.Fault
		opts       postmarkfake.Options
		email      func(*provider.Email)
		permanent  bool
		maybeSent  bool
		status     int
		code       string
		retryAfter time.Duration
	}{
		{name: "InvalidEmailRequestIsPermanent", email: func(e *provider.Email) { e.HTML, e.Text = "", "" },
			permanent: true, status: 422, code: "300"},
		{name: "InactiveRecipientIsPermanent", opts: postmarkfake.Options{InactiveRecipients: []string{"bob@example.test"}},
			permanent: true, status: 422, code: "406"},
		{name: "NotAllowedToSendIsPermanent", faults: []fakehttp.Fault{postmarkfake.ErrorFault(422, 405, "Not allowed to send")},
			permanent: true, status: 422, code: "405"},
		{name: "BadTokenIsPermanent", faults: []fakehttp.Fault{postmarkfake.ErrorFault(401, 10, "Bad or missing API token")},
			permanent: true, status: 401, code: "10"},
		{name: "PayloadTooLargeIsPermanent", faults: []fakehttp.Fault{fakehttp.Status(413)}, permanent: true, status: 413},
		{name: "RateLimitIsTransient", faults: []fakehttp.Fault{fakehttp.RateLimited("5")},
			status: 429, code: "429", retryAfter: 5 * time.Second},
		{name: "RateLimitCodeUnder422IsTransient", faults: []fakehttp.Fault{postmarkfake.ErrorFault(422, 429, "Rate Limit Exceeded")},
			status: 422, code: "429"},
		{name: "ServerErrorIsTransientAndMaybeSent", faults: []fakehttp.Fault{fakehttp.Status(500)}, status: 500, maybeSent: true},
		{name: "MaintenanceIsTransientNotSent", faults: []fakehttp.Fault{fakehttp.Status(503)}, status: 503, code: "100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, 5*time.Second, tt.opts, "")
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
			if pe.Permanent != tt.permanent || pe.StatusCode != tt.status || pe.Code != tt.code ||
				pe.MaybeSent != tt.maybeSent || pe.RetryAfter != tt.retryAfter {
				t.Errorf("got permanent=%v status=%d code=%q maybeSent=%v retryAfter=%v; want %v %d %q %v %v",
					pe.Permanent, pe.StatusCode, pe.Code, pe.MaybeSent, pe.RetryAfter,
					tt.permanent, tt.status, tt.code, tt.maybeSent, tt.retryAfter)
			}
			if n := s.fake.RequestCount(); n != 1 {
				t.Errorf("requests = %d, want 1: nothing here may be retried in-process", n)
			}
			if n := len(s.fake.Messages()); n != 0 {
				t.Errorf("messages = %d, want 0", n)
			}
		})
	}
}

func TestPostmark_SendEmailLostResponseIsMaybeSentAndNotRetried(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second, postmarkfake.Options{}, "")
	s.fake.Inject(fakehttp.ResetAfterAccept())
	_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 3}, sampleEmail())
	if err == nil || provider.IsPermanent(err) || !provider.MaybeSent(err) {
		t.Fatalf("err = %v, want transient and MaybeSent", err)
	}
	if n, m := s.fake.RequestCount(), len(s.fake.Messages()); n != 1 || m != 1 {
		t.Errorf("requests = %d, messages = %d; want 1 and 1", n, m)
	}
}

func TestPostmark_SendEmailMalformedSuccessIsAccepted(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second, postmarkfake.Options{}, "")
	s.fake.Inject(fakehttp.Malformed())
	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 3}, sampleEmail())
	if err != nil || r.MessageID != "" || r.Extra["warning"] == nil {
		t.Fatalf("receipt %+v, err %v; want accepted without id, with a warning", r, err)
	}
}

func TestPostmark_SendEmailTimesOutSlowAnswer(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 100*time.Millisecond, postmarkfake.Options{}, "")
	s.fake.Inject(fakehttp.Slow(2 * time.Second))
	_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 4}, sampleEmail())
	if err == nil || provider.IsPermanent(err) || !provider.MaybeSent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want transient deadline error that may have sent", err)
	}
}

func TestPostmark_SendEmailRejectsWrongTokenAsPermanent(t *testing.T) {
	t.Parallel()
	fake := postmarkfake.New(postmarkfake.Options{ServerToken: "other"})
	t.Cleanup(fake.Close)
	c, _ := postmark.New(postmark.Config{ServerToken: testToken, BaseURL: fake.URL()})
	_, err := c.SendEmail(context.Background(), provider.Send{MessageID: 1}, sampleEmail())
	if !provider.IsPermanent(err) || provider.ErrorCode(err) != "10" || strings.Contains(err.Error(), testToken) {
		t.Fatalf("err = %v, want permanent code 10 without the token", err)
	}
}

func TestPostmark_SecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 200*time.Millisecond, postmarkfake.Options{}, "")
	s.fake.Inject(fakehttp.Status(500), fakehttp.Reset(), fakehttp.RateLimited("1"), fakehttp.Status(401), fakehttp.Slow(time.Second))
	for i := range 5 {
		_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: int64(i)}, sampleEmail())
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("error leaks the token: %v", err)
		}
	}
	logs := s.logs.String()
	if logs == "" {
		t.Fatal("no logs captured; the test would prove nothing")
	}
	for _, secret := range []string{testToken, "<p>Hi</p>", "aGVsbG8="} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestPostmark_NewValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]postmark.Config{
		"ServerToken": {},
		"BaseURL":     {ServerToken: "t", BaseURL: "postmark"},
		"Timeout":     {ServerToken: "t", Timeout: -time.Second},
	} {
		if _, err := postmark.New(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New(%s) err = %v", name, err)
		}
	}
	c, err := postmark.New(postmark.Config{ServerToken: "t"})
	if err != nil || c.Name() != "postmark" {
		t.Fatalf("New: %v", err)
	}
}

// Postmark reads To as a comma-separated list: a name holding a comma and
// addresses is sent quoted, so the one recipient is the address in brackets
// (an inactive address in the name is not mailed, and not refused).
func TestPostmark_SendEmailQuotesNames(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second, postmarkfake.Options{InactiveRecipients: []string{"gone@example.test"}}, "")
	e := sampleEmail()
	e.To = []provider.Address{{Name: "v@x.test, gone@example.test", Email: "ok@example.test"}, {Name: "Q. Public", Email: "q@example.test"}}
	if _, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 1}, e); err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	if got := s.fake.Messages()[0].To; got != `"v@x.test, gone@example.test" <ok@example.test>, "Q. Public" <q@example.test>` {
		t.Fatalf("To = %s", got)
	}
}
