package twiliofake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
