package resend_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/httpxtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

const testKey = "re_secret_DO_NOT_LOG_123"

type setup struct {
	fake   *resendfake.Server
	client *resend.Client
	logs   *httpxtest.Logs
}

func newSetup(t *testing.T, timeout time.Duration) setup {
	t.Helper()
	fake := resendfake.New(resendfake.Options{APIKey: testKey})
	t.Cleanup(fake.Close)
	hc, logs := httpxtest.Client()
	c, err := resend.New(resend.Config{APIKey: testKey, BaseURL: fake.URL(), HTTPClient: hc, Timeout: timeout})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return setup{fake: fake, client: c, logs: logs}
}

func sampleEmail() *provider.Email {
	return &provider.Email{
		From:    provider.Address{Name: "Acme", Email: "hello@acme.test"},
		To:      []provider.Address{{Email: "ada@example.test"}},
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

func TestResend_SendEmailSendsDocumentedRequest(t *testing.T) {
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
	if req.Method != http.MethodPost || req.Path != "/emails" {
		t.Errorf("request = %s %s, want POST /emails", req.Method, req.Path)
	}
	wantHeaders := map[string]string{
		"Authorization":   "Bearer " + testKey,
		"Content-Type":    "application/json",
		"Idempotency-Key": "symphony-msg-42",
		"User-Agent":      "symphony-messenger/test",
	}
	for k, v := range wantHeaders {
		if got := req.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantBody := `{"from":"Acme <hello@acme.test>","to":["ada@example.test"],"cc":["cc@example.test"],` +
		`"bcc":["bcc@example.test"],"reply_to":["support@acme.test"],"subject":"Welcome","html":"<p>Hi</p>",` +
		`"text":"Hi","headers":{"X-Entity-Ref-ID":"42"},"tags":[{"name":"campaign","value":"c-7"},` +
		`{"name":"category","value":"welcome"}],"attachments":[{"content":"aGVsbG8=","filename":"a.txt",` +
		`"content_type":"text/plain"}]}`
	if got := string(req.Body); got != wantBody {
		t.Errorf("body =\n%s\nwant\n%s", got, wantBody)
	}
	emails := s.fake.Emails()
	if len(emails) != 1 {
		t.Fatalf("emails = %d, want 1", len(emails))
	}
	if r.Provider != "resend" || r.MessageID != emails[0].ID || r.Status != "accepted" {
		t.Errorf("receipt = %+v, want provider resend, id %s, status accepted", r, emails[0].ID)
	}
}

func TestResend_SendEmailClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     []fakehttp.Fault
		permanent  bool
		status     int
		code       string
		retryAfter time.Duration
	}{
		{name: "RateLimitIsTransientWithRetryAfter", faults: []fakehttp.Fault{fakehttp.RateLimited("3")},
			status: 429, code: "rate_limit_exceeded", retryAfter: 3 * time.Second},
		{name: "RateLimitFallsBackToRatelimitReset", faults: []fakehttp.Fault{{Kind: fakehttp.KindStatus, Status: 429,
			Header: http.Header{"Ratelimit-Reset": {"4"}}}},
			status: 429, code: "rate_limit_exceeded", retryAfter: 4 * time.Second},
		{name: "DailyQuotaIsTransientForAnHour", faults: []fakehttp.Fault{resendfake.ErrorFault(429, "daily_quota_exceeded", "quota")},
			status: 429, code: "daily_quota_exceeded", retryAfter: time.Hour},
		{name: "MonthlyQuotaIsPermanent", faults: []fakehttp.Fault{resendfake.ErrorFault(429, "monthly_quota_exceeded", "quota")},
			permanent: true, status: 429, code: "monthly_quota_exceeded"},
		{name: "ConcurrentIdempotentRequestIsTransient", faults: []fakehttp.Fault{fakehttp.Status(409)},
			status: 409, code: "concurrent_idempotent_requests"},
		{name: "InvalidIdempotentRequestIsPermanent", faults: []fakehttp.Fault{resendfake.ErrorFault(409, "invalid_idempotent_request", "x")},
			permanent: true, status: 409, code: "invalid_idempotent_request"},
		{name: "ValidationErrorIsPermanent", faults: []fakehttp.Fault{resendfake.ErrorFault(422, "invalid_from_address", "bad from")},
			permanent: true, status: 422, code: "invalid_from_address"},
		{name: "BadRequestIsPermanent", faults: []fakehttp.Fault{fakehttp.Status(400)}, permanent: true, status: 400, code: "validation_error"},
		{name: "UnverifiedDomainIsPermanent", faults: []fakehttp.Fault{resendfake.ErrorFault(403, "validation_error", "domain not verified")},
			permanent: true, status: 403, code: "validation_error"},
		{name: "NotFoundIsPermanent", faults: []fakehttp.Fault{resendfake.ErrorFault(404, "not_found", "no")},
			permanent: true, status: 404, code: "not_found"},
		{name: "SecurityErrorIsPermanent", faults: []fakehttp.Fault{resendfake.ErrorFault(451, "security_error", "no")},
			permanent: true, status: 451, code: "security_error"},
		{name: "ServerErrorIsTransientAfterInProcessRetries", faults: fakehttp.Times(3, fakehttp.Status(500)),
			status: 500, code: "internal_server_error"},
		{name: "UnavailableWithRetryAfterIsTransient", faults: []fakehttp.Fault{{Kind: fakehttp.KindStatus, Status: 503, RetryAfter: "7"}},
			status: 503, retryAfter: 7 * time.Second, code: "internal_server_error"},
		{name: "NonJSONErrorBodyStillClassifies", faults: fakehttp.Times(3, fakehttp.Fault{Kind: fakehttp.KindStatus, Status: 502, Body: "<html>bad gateway</html>"}),
			status: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, 5*time.Second)
			s.fake.Inject(tt.faults...)
			_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 7, Attempt: 1}, sampleEmail())
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *provider.Error", err)
			}
			if pe.Permanent != tt.permanent || pe.StatusCode != tt.status || pe.Code != tt.code || pe.RetryAfter != tt.retryAfter {
				t.Errorf("got permanent=%v status=%d code=%q retryAfter=%v; want %v %d %q %v",
					pe.Permanent, pe.StatusCode, pe.Code, pe.RetryAfter, tt.permanent, tt.status, tt.code, tt.retryAfter)
			}
			if pe.MaybeSent {
				t.Error("MaybeSent = true; the idempotency key makes a retry safe")
			}
			if provider.IsPermanent(err) != tt.permanent {
				t.Errorf("provider.IsPermanent = %v", provider.IsPermanent(err))
			}
			if n := len(s.fake.Emails()); n != 0 {
				t.Errorf("emails sent = %d, want 0", n)
			}
			if got := s.fake.PendingFaults(); got != 0 {
				t.Errorf("unused faults = %d; the client made fewer requests than expected", got)
			}
		})
	}
}

func TestResend_SendEmailClassifiesRejectedKeyAsPermanent(t *testing.T) {
	t.Parallel()
	fake := resendfake.New(resendfake.Options{APIKey: "re_other"})
	t.Cleanup(fake.Close)
	c, err := resend.New(resend.Config{APIKey: testKey, BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendEmail(context.Background(), provider.Send{MessageID: 1}, sampleEmail())
	if !provider.IsPermanent(err) || provider.ErrorCode(err) != "validation_error" {
		t.Fatalf("err = %v, want permanent validation_error", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the API key: %v", err)
	}
}

func TestResend_SendEmailRetriesServerErrorsWithTheSameKey(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(fakehttp.Times(2, fakehttp.Status(500))...)

	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 9, Attempt: 1}, sampleEmail())
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 3 (two in-process retries)", len(reqs))
	}
	for i, req := range reqs {
		if k := req.Header.Get("Idempotency-Key"); k != "symphony-msg-9" {
			t.Errorf("request %d key = %q", i, k)
		}
		if !bytes.Equal(req.Body, reqs[0].Body) {
			t.Errorf("request %d body differs from the first", i)
		}
	}
	if emails := s.fake.Emails(); len(emails) != 1 || r.MessageID != emails[0].ID {
		t.Errorf("emails = %d, receipt id %q", len(emails), r.MessageID)
	}
}

func TestResend_SendEmailLostResponseIsRetriedWithoutDuplicate(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(fakehttp.ResetAfterAccept())

	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 11, Attempt: 1}, sampleEmail())
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	emails := s.fake.Emails()
	if len(emails) != 1 {
		t.Fatalf("emails = %d, want exactly 1", len(emails))
	}
	if r.MessageID != emails[0].ID {
		t.Errorf("receipt id %q, want the original %q", r.MessageID, emails[0].ID)
	}
	if n := s.fake.RequestCount(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

func TestResend_IdempotencyKeyStableAcrossQueueAttempts(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	ctx := context.Background()
	s.fake.Inject(fakehttp.Times(3, fakehttp.ResetAfterAccept())...)

	// Attempt 1: accepted, but every answer is lost; the error is transient.
	_, err := s.client.SendEmail(ctx, provider.Send{MessageID: 5, Attempt: 1}, sampleEmail())
	if err == nil || provider.IsPermanent(err) || provider.MaybeSent(err) {
		t.Fatalf("attempt 1 err = %v, want transient, not MaybeSent", err)
	}
	// Attempt 2 (the queue's retry, maybe from another sidecar) replays.
	r, err := s.client.SendEmail(ctx, provider.Send{MessageID: 5, Attempt: 2}, sampleEmail())
	if err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	emails := s.fake.Emails()
	if len(emails) != 1 || r.MessageID != emails[0].ID {
		t.Fatalf("emails = %d, receipt %q: want one email and its id", len(emails), r.MessageID)
	}
	for i, req := range s.fake.Requests() {
		if k := req.Header.Get("Idempotency-Key"); k != "symphony-msg-5" {
			t.Errorf("request %d key = %q, want symphony-msg-5", i, k)
		}
	}
}

func TestResend_SendEmailMalformedSuccessIsAccepted(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(fakehttp.Malformed())

	r, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 3}, sampleEmail())
	if err != nil {
		t.Fatalf("SendEmail: %v, want a receipt: a 2xx means Resend accepted it", err)
	}
	if r.MessageID != "" || r.Status != "accepted" || r.Extra["warning"] == nil {
		t.Errorf("receipt = %+v, want accepted without id and a warning", r)
	}
	if n := len(s.fake.Emails()); n != 1 {
		t.Errorf("emails = %d, want 1", n)
	}
}

func TestResend_SendEmailTimesOutSlowAnswer(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 100*time.Millisecond)
	s.fake.Inject(fakehttp.Slow(2 * time.Second))

	start := time.Now()
	_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 4}, sampleEmail())
	if err == nil || provider.IsPermanent(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want about the 100ms timeout", d)
	}
}

func TestResend_SendEmailConnectionRefusedIsTransient(t *testing.T) {
	t.Parallel()
	fake := resendfake.New(resendfake.Options{APIKey: testKey})
	url := fake.URL()
	fake.Close()
	hc := httpx.New(httpx.Config{RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	c, err := resend.New(resend.Config{APIKey: testKey, BaseURL: url, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendEmail(context.Background(), provider.Send{MessageID: 1}, sampleEmail())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Permanent || pe.StatusCode != 0 || pe.Err == nil {
		t.Fatalf("err = %#v, want transient transport error", err)
	}
}

func TestResend_SecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 200*time.Millisecond)
	s.fake.Inject(fakehttp.Status(500), fakehttp.Reset(), fakehttp.Status(503), fakehttp.RateLimited("1"),
		resendfake.ErrorFault(422, "validation_error", "bad"), fakehttp.Slow(time.Second))
	var errs []error
	for i := range 5 {
		_, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: int64(i)}, sampleEmail())
		errs = append(errs, err)
	}
	for _, err := range errs {
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

func TestResend_NewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  resend.Config
		want string
	}{
		{"MissingKey", resend.Config{}, "APIKey"},
		{"BadScheme", resend.Config{APIKey: "k", BaseURL: "ftp://x"}, "BaseURL"},
		{"CredentialsInURL", resend.Config{APIKey: "k", BaseURL: "https://u:p@x"}, "BaseURL"},
		{"NegativeTimeout", resend.Config{APIKey: "k", Timeout: -1}, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := resend.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "u:p") {
				t.Errorf("error echoes credentials: %v", err)
			}
		})
	}
	c, err := resend.New(resend.Config{APIKey: "k"})
	if err != nil || c.Name() != "resend" {
		t.Fatalf("New with defaults: %v", err)
	}
}

func TestResend_IdempotencyKeySeparatesDatabases(t *testing.T) {
	t.Parallel()
	fake := resendfake.New(resendfake.Options{APIKey: testKey})
	t.Cleanup(fake.Close)
	ctx := context.Background()
	c, err := resend.New(resend.Config{APIKey: testKey, BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"staging-db", "production-db"} {
		if _, err := c.SendEmail(ctx, provider.Send{Namespace: ns, MessageID: 42, Attempt: 1}, sampleEmail()); err != nil {
			t.Fatalf("%s: %v", ns, err)
		}
	}
	emails := fake.Emails()
	if len(emails) != 2 || emails[0].IdempotencyKey != "symphony-staging-db-42" || emails[1].IdempotencyKey != "symphony-production-db-42" {
		t.Fatalf("emails = %+v; want two, one per database", emails)
	}
}

// A name that holds a comma, an @ or a dot is sent quoted, so that Resend
// reads one mailbox (the fake refuses an unquoted one, as Resend does).
func TestResend_SendEmailQuotesNames(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	e := sampleEmail()
	e.From = provider.Address{Name: "Acme, Inc.", Email: "hello@acme.test"}
	e.To = []provider.Address{{Name: "v@x.test, s@y.test", Email: "ada@example.test"}, {Name: "Bo", Email: "bo@example.test"}}
	if _, err := s.client.SendEmail(context.Background(), provider.Send{MessageID: 1}, e); err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	got := s.fake.Emails()[0]
	if got.From != `"Acme, Inc." <hello@acme.test>` ||
		!slices.Equal(got.To, resendfake.Addresses{`"v@x.test, s@y.test" <ada@example.test>`, "Bo <bo@example.test>"}) {
		t.Fatalf("from %q, to %q", got.From, got.To)
	}
}
