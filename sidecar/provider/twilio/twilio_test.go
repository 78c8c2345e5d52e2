package twilio_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/httpxtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "tw-secret-DO-NOT-LOG-000"
	serviceSID = "MG0123456789abcdef0123456789abcdef"
	apiKeySID  = "SK0123456789abcdef0123456789abcdef"
	apiSecret  = "tw-key-secret-DO-NOT-LOG"
)

type setup struct {
	fake   *twiliofake.Server
	client *twilio.Client
	logs   *httpxtest.Logs
}

// newSetup starts a fake and a client; change adjusts the client config.
func newSetup(t *testing.T, opts twiliofake.Options, change func(*twilio.Config)) setup {
	t.Helper()
	opts.AccountSID, opts.AuthToken = accountSID, authToken
	fake := twiliofake.New(opts)
	t.Cleanup(fake.Close)
	hc, logs := httpxtest.Client()
	cfg := twilio.Config{
		AccountSID: accountSID, AuthToken: authToken, From: "+15005550006", BaseURL: fake.URL(), Timeout: 5 * time.Second,
		HTTPClient: hc,
	}
	if change != nil {
		change(&cfg)
	}
	c, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return setup{fake: fake, client: c, logs: logs}
}

func sms() *provider.SMS { return &provider.SMS{To: "+14155552671", Body: "Your code is 918273"} }

func TestTwilio_SendSMSSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{}, func(c *twilio.Config) { c.StatusCallback = "https://app.test/twilio/status" })

	r, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 42, Attempt: 1}, sms())
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	req := reqs[0]
	if want := "/2010-04-01/Accounts/" + accountSID + "/Messages.json"; req.Method != http.MethodPost || req.Path != want {
		t.Errorf("request = %s %s, want POST %s", req.Method, req.Path, want)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(accountSID+":"+authToken))
	for k, v := range map[string]string{
		"Authorization": wantAuth,
		"Content-Type":  "application/x-www-form-urlencoded",
		"User-Agent":    "symphony-messenger/test",
	} {
		if got := req.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantBody := url.Values{"To": {"+14155552671"}, "From": {"+15005550006"}, "Body": {"Your code is 918273"},
		"StatusCallback": {"https://app.test/twilio/status"}}.Encode()
	if got := string(req.Body); got != wantBody {
		t.Errorf("body = %s, want %s", got, wantBody)
	}
	msgs := s.fake.Messages()
	if len(msgs) != 1 || r.Provider != "twilio" || r.MessageID != msgs[0].SID || r.Status != "queued" {
		t.Errorf("receipt = %+v, messages = %+v", r, msgs)
	}
}

func TestTwilio_SendSMSChoosesSender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		configFrom  string
		service     string
		msgFrom     string
		wantFrom    string
		wantService string
		wantStatus  string
	}{
		{"ConfiguredFrom", "+15005550006", "", "", "+15005550006", "", "queued"},
		{"MessagingServiceWins", "+15005550006", serviceSID, "", "", serviceSID, "accepted"},
		{"MessageFromWinsOverService", "", serviceSID, "Acme", "Acme", "", "queued"},
		// A Messaging Service SID is no From: Twilio takes it only as MessagingServiceSid.
		{"MessageFromIsAService", "+15005550006", "", serviceSID, "", serviceSID, "accepted"},
		{"ConfiguredFromIsAService", serviceSID, "", "", "", serviceSID, "accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, twiliofake.Options{}, func(c *twilio.Config) { c.From, c.MessagingServiceSID = tt.configFrom, tt.service })
			m := sms()
			m.From = tt.msgFrom
			r, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 1}, m)
			if err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			got := s.fake.Messages()[0]
			if got.From != tt.wantFrom || got.MessagingServiceSID != tt.wantService || r.Status != tt.wantStatus {
				t.Errorf("From=%q MessagingServiceSid=%q status=%q; want %q %q %q",
					got.From, got.MessagingServiceSID, r.Status, tt.wantFrom, tt.wantService, tt.wantStatus)
			}
		})
	}
}

func TestTwilio_SendSMSAuthenticatesWithAPIKey(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{APIKeySID: apiKeySID, APIKeySecret: apiSecret},
		func(c *twilio.Config) { c.AuthToken, c.APIKeySID, c.APIKeySecret = "", apiKeySID, apiSecret })
	if _, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 1}, sms()); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if u := s.fake.Messages()[0].AuthUser; u != apiKeySID {
		t.Errorf("auth user = %q, want the API key SID", u)
	}
}

func TestTwilio_SendSMSClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     []fakehttp.Fault
		opts       twiliofake.Options
		sms        func(*provider.SMS)
		permanent  bool
		maybeSent  bool
		status     int
		code       string
		retryAfter time.Duration
	}{
		{name: "InvalidToIsPermanent", sms: func(m *provider.SMS) { m.To = "4155552671" }, permanent: true, status: 400, code: "21211"},
		{name: "UnsubscribedRecipientIsPermanent", opts: twiliofake.Options{OptedOut: []string{"+14155552671"}},
			permanent: true, status: 400, code: "21610"},
		{name: "RegionNotEnabledIsPermanent", faults: []fakehttp.Fault{twiliofake.ErrorFault(400, 21408,
			"Permission to send an SMS has not been enabled for the region")}, permanent: true, status: 400, code: "21408"},
		{name: "NotMobileIsPermanent", faults: []fakehttp.Fault{twiliofake.ErrorFault(400, 21614,
			"'To' number is not a valid mobile number")}, permanent: true, status: 400, code: "21614"},
		{name: "BodyTooLongIsPermanent", sms: func(m *provider.SMS) { m.Body = strings.Repeat("x", 1601) },
			permanent: true, status: 400, code: "21658"},
		{name: "AuthenticationIsPermanent", faults: []fakehttp.Fault{twiliofake.ErrorFault(401, 20003, "Authenticate")},
			permanent: true, status: 401, code: "20003"},
		{name: "TooManyRequestsIsTransientNotSent", faults: []fakehttp.Fault{fakehttp.RateLimited("2")},
			status: 429, code: "20429", retryAfter: 2 * time.Second},
		{name: "QueueFullIsTransient", faults: []fakehttp.Fault{twiliofake.ErrorFault(400, 21611,
			"This 'From' number has exceeded the maximum number of queued messages")}, status: 400, code: "21611"},
		{name: "ServerErrorIsTransientAndMaybeSent", faults: []fakehttp.Fault{fakehttp.Status(500)},
			status: 500, code: "20500", maybeSent: true},
		{name: "UnavailableIsTransientNotSent", faults: []fakehttp.Fault{fakehttp.Status(503)}, status: 503, code: "20503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, tt.opts, nil)
			s.fake.Inject(tt.faults...)
			m := sms()
			if tt.sms != nil {
				tt.sms(m)
			}
			_, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 7}, m)
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

func TestTwilio_SendSMSLostResponseIsMaybeSentAndNotRetried(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{}, nil)
	s.fake.Inject(fakehttp.ResetAfterAccept())
	_, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 3}, sms())
	if err == nil || provider.IsPermanent(err) || !provider.MaybeSent(err) {
		t.Fatalf("err = %v, want transient and MaybeSent", err)
	}
	if n, m := s.fake.RequestCount(), len(s.fake.Messages()); n != 1 || m != 1 {
		t.Errorf("requests = %d, messages = %d; want 1 and 1", n, m)
	}
}

func TestTwilio_SendSMSMalformedSuccessIsAccepted(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{}, nil)
	s.fake.Inject(fakehttp.Malformed())
	r, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 3}, sms())
	if err != nil || r.MessageID != "" || r.Extra["warning"] == nil {
		t.Fatalf("receipt %+v, err %v; want accepted without sid, with a warning", r, err)
	}
}

func TestTwilio_SendSMSTimesOutSlowAnswer(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{}, func(c *twilio.Config) { c.Timeout = 100 * time.Millisecond })
	s.fake.Inject(fakehttp.Slow(2 * time.Second))
	_, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 4}, sms())
	if err == nil || provider.IsPermanent(err) || !provider.MaybeSent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want transient deadline error that may have sent", err)
	}
}

func TestTwilio_SendSMSWrongTokenIsPermanent(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{}, func(c *twilio.Config) { c.AuthToken = "wrong-" + authToken })
	_, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: 1}, sms())
	if !provider.IsPermanent(err) || provider.ErrorCode(err) != "20003" || strings.Contains(err.Error(), authToken) {
		t.Fatalf("err = %v, want permanent 20003 without the token", err)
	}
}

func TestTwilio_SecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	s := newSetup(t, twiliofake.Options{}, func(c *twilio.Config) { c.Timeout = 200 * time.Millisecond })
	s.fake.Inject(fakehttp.Status(500), fakehttp.Reset(), fakehttp.RateLimited("1"), fakehttp.Status(401), fakehttp.Slow(time.Second))
	for i := range 5 {
		_, err := s.client.SendSMS(context.Background(), provider.Send{MessageID: int64(i)}, sms())
		if err != nil && strings.Contains(err.Error(), authToken) {
			t.Errorf("error leaks the token: %v", err)
		}
	}
	logs := s.logs.String()
	if logs == "" {
		t.Fatal("no logs captured; the test would prove nothing")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(accountSID + ":" + authToken))
	for _, secret := range []string{authToken, basic, "Basic", "918273"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestTwilio_NewValidatesConfig(t *testing.T) {
	t.Parallel()
	ok := twilio.Config{AccountSID: accountSID, AuthToken: "t", From: "+15005550006"}
	tests := []struct {
		name   string
		change func(*twilio.Config)
		want   string
	}{
		{"MissingAccountSID", func(c *twilio.Config) { c.AccountSID = "" }, "AccountSID"},
		{"MalformedAccountSID", func(c *twilio.Config) { c.AccountSID = "SK0123456789abcdef0123456789abcdef" }, "AccountSID"},
		{"MissingToken", func(c *twilio.Config) { c.AuthToken = "" }, "AuthToken"},
		{"HalfAnAPIKey", func(c *twilio.Config) { c.APIKeySID = apiKeySID }, "APIKeySecret"},
		{"NoSender", func(c *twilio.Config) { c.From = "" }, "TWILIO_FROM"},
		{"BadServiceSID", func(c *twilio.Config) { c.MessagingServiceSID = "MG1" }, "MessagingServiceSID"},
		{"RelativeCallback", func(c *twilio.Config) { c.StatusCallback = "/status" }, "StatusCallback"},
		{"BadBaseURL", func(c *twilio.Config) { c.BaseURL = "https://AC:tok@x" }, "BaseURL"},
		{"NegativeTimeout", func(c *twilio.Config) { c.Timeout = -1 }, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.change(&cfg)
			_, err := twilio.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "tok@") {
				t.Errorf("error echoes credentials: %v", err)
			}
		})
	}
	c, err := twilio.New(ok)
	if err != nil || c.Name() != "twilio" {
		t.Fatalf("New: %v", err)
	}
}
