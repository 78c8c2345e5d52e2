package twiliofake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

func TestTwilioFake_AnswersLikeTwilio(t *testing.T) {
	t.Parallel()
	srv := twiliofake.New(twiliofake.Options{OptedOut: []string{"+14155550000"}})
	defer srv.Close()
	path := "/2010-04-01/Accounts/" + twiliofake.DefaultAccountSID + "/Messages.json"
	ok := url.Values{"To": {"+14155552671"}, "From": {"+15005550006"}, "Body": {"hi"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range ok {
			f[key] = vs
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name, path, password string
		form                 url.Values
		status, code         int
	}{
		{"Created", path, "", ok, 201, 0},
		{"WrongToken", path, "nope", ok, 401, 20003},
		{"WrongAccount", "/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages.json", "", ok, 404, 20404},
		{"InvalidTo", path, "", with("To", "4155552671"), 400, 21211},
		{"OptedOut", path, "", with("To", "+14155550000"), 400, 21610},
		{"NoSender", path, "", with("From", ""), 400, 21603},
		{"NoBody", path, "", with("Body", ""), 400, 21602},
		{"BodyTooLong", path, "", with("Body", strings.Repeat("x", 1601)), 400, 21658},
		{"ServiceSIDAsFrom", path, "", with("From", "MG"+strings.Repeat("0", 32)), 400, 21212},
		{"FromNotASender", path, "", with("From", "Acme, Inc."), 400, 21212},
		{"SenderIDTooLong", path, "", with("From", "AcmeCorporation"), 400, 21212},
		{"BadServiceSID", path, "", with("MessagingServiceSid", "MG123"), 400, 21701},
		{"UnknownParameter", path, "", with("MessagingServiceSID", "MG"+strings.Repeat("0", 32)), 400, 20001},
		{"StatusCallbackUnderscore", path, "", with("StatusCallback", "https://my_host.example/cb"), 400, 21609},
		{"StatusCallbackNotURL", path, "", with("StatusCallback", "/cb"), 400, 21609},
	}
	for _, tt := range tests {
		password := tt.password
		if password == "" {
			password = twiliofake.DefaultAuthToken
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+tt.path, strings.NewReader(tt.form.Encode()))
		req.SetBasicAuth(twiliofake.DefaultAccountSID, password)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var a struct {
			SID    string `json:"sid"`
			Status any    `json:"status"`
			Code   int    `json:"code"`
		}
		_ = json.Unmarshal(b, &a)
		if resp.StatusCode != tt.status || a.Code != tt.code {
			t.Errorf("%s: %d %s, want %d code %d", tt.name, resp.StatusCode, b, tt.status, tt.code)
		}
		if tt.status == 201 && (!strings.HasPrefix(a.SID, "SM") || len(a.SID) != 34 || a.Status != "queued") {
			t.Errorf("%s: created body %s", tt.name, b)
		}
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}

// Twilio's 20429 is about concurrency: a request that arrives while the
// account has its limit in flight is refused at once, and every answer says
// how many were in flight.
func TestTwilioFake_RefusesOverTheAccountsConcurrency(t *testing.T) {
	t.Parallel()
	srv := twiliofake.New(twiliofake.Options{Concurrency: 2})
	defer srv.Close()
	srv.Inject(fakehttp.Fault{Delay: 300 * time.Millisecond}, fakehttp.Fault{Delay: 300 * time.Millisecond})
	form := url.Values{"To": {"+14155552671"}, "From": {"+15005550006"}, "Body": {"hi"}}
	post := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/2010-04-01/Accounts/"+twiliofake.DefaultAccountSID+"/Messages.json",
			strings.NewReader(form.Encode()))
		req.SetBasicAuth(twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	slow := make(chan *http.Response, 2)
	for range 2 {
		go func() { slow <- post() }()
	}
	time.Sleep(100 * time.Millisecond) // both slow requests in flight
	third := post()
	if third.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third request while two are in flight: %d, want 429", third.StatusCode)
	}
	if got := third.Header.Get("Twilio-Concurrent-Requests"); got != "3" {
		t.Errorf("refused answer's Twilio-Concurrent-Requests = %q, want 3", got)
	}
	for range 2 {
		r := <-slow
		if r.StatusCode != http.StatusCreated {
			t.Errorf("slow request: %d, want 201", r.StatusCode)
		}
		if d, err := strconv.ParseFloat(r.Header.Get("Twilio-Request-Duration"), 64); err != nil || d < 0.3 {
			t.Errorf("slow request's Twilio-Request-Duration = %q, want at least 0.300", r.Header.Get("Twilio-Request-Duration"))
		}
		if !strings.HasPrefix(r.Header.Get("Twilio-Request-Id"), "RQ") {
			t.Errorf("Twilio-Request-Id = %q", r.Header.Get("Twilio-Request-Id"))
		}
	}
	after := post()
	if after.StatusCode != http.StatusCreated || after.Header.Get("Twilio-Concurrent-Requests") != "1" {
		t.Errorf("alone afterwards: %d with Twilio-Concurrent-Requests %q, want 201 with 1",
			after.StatusCode, after.Header.Get("Twilio-Concurrent-Requests"))
	}
	if peak, refused := srv.Concurrency(); peak != 3 || refused != 1 {
		t.Errorf("Concurrency() = %d peak, %d refused; want 3, 1", peak, refused)
	}
	srv.SetConcurrency(0)
	if r := post(); r.StatusCode != http.StatusCreated {
		t.Errorf("with no limit: %d", r.StatusCode)
	}
}
