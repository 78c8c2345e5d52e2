package sendgridfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
)

func TestSendGridFake_AnswersLikeSendGrid(t *testing.T) {
	t.Parallel()
	srv := sendgridfake.New(sendgridfake.Options{})
	defer srv.Close()
	const ok = `{"personalizations":[{"to":[{"email":"b@example.test"}]}],"from":{"email":"a@acme.test"},` +
		`"subject":"S","content":[{"type":"text/plain","value":"hi"}]}`
	tests := []struct {
		name, auth, payload string
		status              int
		field               string
	}{
		{"Accepted", "Bearer " + sendgridfake.DefaultAPIKey, ok, 202, ""},
		{"WrongKey", "Bearer nope", ok, 401, "null"},
		{"NoPersonalizations", "", `{"from":{"email":"a@acme.test"},"subject":"S","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations"},
		{"NoFrom", "", strings.Replace(ok, `"from":{"email":"a@acme.test"},`, "", 1), 400, "from.email"},
		{"NoSubject", "", strings.Replace(ok, `"subject":"S",`, "", 1), 400, "subject"},
		{"EmptyContent", "", strings.Replace(ok, `"value":"hi"`, `"value":""`, 1), 400, "content.0.value"},
		{"HTMLBeforeText", "", strings.Replace(ok, `[{"type":"text/plain","value":"hi"}]`,
			`[{"type":"text/html","value":"<b>x</b>"},{"type":"text/plain","value":"x"}]`, 1), 400, "content"},
		{"DuplicateRecipient", "", strings.Replace(ok, `"to":[{"email":"b@example.test"}]`,
			`"to":[{"email":"b@example.test"}],"cc":[{"email":"B@example.test"}]`, 1), 400, "personalizations.0"},
	}
	for _, tt := range tests {
		auth := tt.auth
		if auth == "" {
			auth = "Bearer " + sendgridfake.DefaultAPIKey
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v3/mail/send", strings.NewReader(tt.payload))
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d (%s), want %d", tt.name, resp.StatusCode, b, tt.status)
			continue
		}
		if tt.status == 202 {
			if len(b) != 0 || resp.Header.Get("X-Message-Id") == "" {
				t.Errorf("%s: body %q, X-Message-Id %q", tt.name, b, resp.Header.Get("X-Message-Id"))
			}
			continue
		}
		var e struct {
			Errors []struct {
				Field *string `json:"field"`
			} `json:"errors"`
		}
		if json.Unmarshal(b, &e) != nil || len(e.Errors) != 1 {
			t.Errorf("%s: error body %s", tt.name, b)
			continue
		}
		if got := e.Errors[0].Field; (got == nil && tt.field != "") || (got != nil && *got != tt.field) {
			t.Errorf("%s: field %v, want %q", tt.name, got, tt.field)
		}
	}
	if n := len(srv.Mails()); n != 1 {
		t.Errorf("mails = %d, want 1", n)
	}
}
