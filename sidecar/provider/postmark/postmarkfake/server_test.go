package postmarkfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
)

func TestPostmarkFake_AnswersLikePostmark(t *testing.T) {
	t.Parallel()
	srv := postmarkfake.New(postmarkfake.Options{InactiveRecipients: []string{"gone@example.test"}})
	defer srv.Close()
	const ok = `{"From":"a@acme.test","To":"b@example.test","Subject":"S","TextBody":"hi"}`
	tests := []struct {
		name, token, accept, payload string
		status, code                 int
	}{
		{"Accepted", "", "", ok, 200, 0},
		{"WrongToken", "nope", "", ok, 401, 10},
		{"NotJSON", "", "text/plain", ok, 415, 0},
		{"InvalidJSON", "", "", "{", 422, 402},
		{"NoBody", "", "", `{"From":"a@acme.test","To":"b@example.test"}`, 422, 300},
		{"NoTo", "", "", `{"From":"a@acme.test","TextBody":"x"}`, 422, 300},
		{"InactiveRecipient", "", "", strings.Replace(ok, "b@example.test", `\"Gone, Person\" <gone@example.test>`, 1), 422, 406},
		{"UnknownField", "", "", strings.Replace(ok, `"TextBody"`, `"Reply-To":"r@acme.test","TextBody"`, 1), 422, 300},
		{"WrongType", "", "", strings.Replace(ok, `"S"`, `5`, 1), 422, 402},
		{"NoSubject", "", "", strings.Replace(ok, `"Subject":"S",`, ``, 1), 422, 300},
		{"CommaInName", "", "", strings.Replace(ok, "b@example.test", `Doe, John <b@example.test>`, 1), 422, 300},
		{"AddressesInName", "", "", strings.Replace(ok, "b@example.test", `v@x.test, s@y.test <b@example.test>`, 1), 422, 300},
		{"BadFrom", "", "", strings.Replace(ok, "a@acme.test", `Acme`, 1), 422, 300},
		{"TwoFroms", "", "", strings.Replace(ok, "a@acme.test", `a@acme.test, b@acme.test`, 1), 422, 300},
		{"BadReplyTo", "", "", strings.Replace(ok, `"TextBody"`, `"ReplyTo":"nope","TextBody"`, 1), 422, 300},
		{"HeaderWithoutValue", "", "", strings.Replace(ok, `"TextBody"`, `"Headers":[{"Name":"X-A"}],"TextBody"`, 1), 422, 300},
		{"AttachmentWithoutType", "", "", strings.Replace(ok, `"TextBody"`, `"Attachments":[{"Name":"a.txt","Content":"aGk="}],"TextBody"`, 1), 422, 300},
		{"MetadataNotString", "", "", strings.Replace(ok, `"TextBody"`, `"Metadata":{"a":1},"TextBody"`, 1), 422, 402},
		{"QuotedNames", "", "", strings.Replace(ok, "b@example.test", `\"Doe, John\" <b@example.test>, \"v@x.test, s@y.test\" <c@example.test>`, 1), 200, 0},
	}
	for _, tt := range tests {
		token, accept := tt.token, tt.accept
		if token == "" {
			token = postmarkfake.DefaultServerToken
		}
		if accept == "" {
			accept = "application/json"
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/email", strings.NewReader(tt.payload))
		req.Header.Set("X-Postmark-Server-Token", token)
		req.Header.Set("Accept", accept)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var a struct {
			ErrorCode int
			MessageID string
			Message   string
		}
		_ = json.Unmarshal(b, &a)
		if resp.StatusCode != tt.status || a.ErrorCode != tt.code {
			t.Errorf("%s: %d %s, want %d ErrorCode %d", tt.name, resp.StatusCode, b, tt.status, tt.code)
		}
		if tt.status == 200 && (a.MessageID == "" || a.Message != "OK") {
			t.Errorf("%s: success body %s", tt.name, b)
		}
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("messages = %d, want 2", n)
	}
}

func TestFake_BatchRefusesOver500(t *testing.T) {
	t.Parallel()
	s := postmarkfake.New(postmarkfake.Options{})
	t.Cleanup(s.Close)
	one := `{"From":"a@acme.test","To":"b@example.test","Subject":"s","TextBody":"t"}`
	post := func(n int) (int, string) {
		body := "[" + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + "]"
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/email/batch", strings.NewReader(body))
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Postmark-Server-Token", postmarkfake.DefaultServerToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := post(501); st != 422 || !strings.Contains(b, `"ErrorCode":300`) {
		t.Fatalf("501 messages: %d %s", st, b)
	}
	if st, b := post(500); st != 200 || strings.Count(b, `"ErrorCode":0`) != 500 {
		t.Fatalf("500 messages: %d", st)
	}
}
