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
		{"ContentWithoutType", "", strings.Replace(ok, `"type":"text/plain",`, ``, 1), 400, "content.0.type"},
		{"HTMLBeforeText", "", strings.Replace(ok, `[{"type":"text/plain","value":"hi"}]`,
			`[{"type":"text/html","value":"<b>x</b>"},{"type":"text/plain","value":"x"}]`, 1), 400, "content"},
		{"DuplicateRecipient", "", strings.Replace(ok, `"to":[{"email":"b@example.test"}]`,
			`"to":[{"email":"b@example.test"}],"cc":[{"email":"B@example.test"}]`, 1), 400, "personalizations.0"},
		{"MailboxAsToEmail", "", strings.Replace(ok, `"b@example.test"`, `"Doe, John <b@example.test>"`, 1), 400, "personalizations.0.to.0.email"},
		{"MailboxAsFromEmail", "", strings.Replace(ok, `{"email":"a@acme.test"}`, `{"email":"Acme <a@acme.test>"}`, 1), 400, "from.email"},
		{"BadReplyToEmail", "", strings.Replace(ok, `"subject"`, `"reply_to":{"email":"nope"},"subject"`, 1), 400, "reply_to.email"},
		{"ReservedHeader", "", strings.Replace(ok, `"subject"`, `"headers":{"Reply-To":"x@y.test"},"subject"`, 1), 400, "headers"},
		{"ReservedHeaderAnyCase", "", strings.Replace(ok, `"subject"`, `"headers":{"x-SG-id":"1"},"subject"`, 1), 400, "headers"},
		{"UnknownField", "", strings.Replace(ok, `"subject"`, `"replyto":{"email":"x@y.test"},"subject"`, 1), 400, "replyto"},
		{"WrongType", "", strings.Replace(ok, `"subject":"S"`, `"subject":5`, 1), 400, "subject"},
		{"EmptySubject", "", strings.Replace(ok, `"subject":"S"`, `"subject":""`, 1), 400, "subject"},
		{"LongCategory", "", strings.Replace(ok, `"subject"`, `"categories":["`+strings.Repeat("c", 256)+`"],"subject"`, 1), 400, "categories"},
		{"DuplicateCategory", "", strings.Replace(ok, `"subject"`, `"categories":["a","a"],"subject"`, 1), 400, "categories"},
		{"AttachmentWithoutFilename", "", strings.Replace(ok, `"subject"`, `"attachments":[{"content":"aGk="}],"subject"`, 1), 400, "attachments.0.filename"},
		{"EmptyAttachment", "", strings.Replace(ok, `"subject"`, `"attachments":[{"content":"","filename":"f"}],"subject"`, 1), 400, "attachments.0.content"},
		{"BadDisposition", "", strings.Replace(ok, `"subject"`, `"attachments":[{"content":"aGk=","filename":"f","disposition":"x"}],"subject"`, 1), 400, "attachments.0.disposition"},
		{"DuplicateReplyTo", "", strings.Replace(ok, `"subject"`, `"reply_to_list":[{"email":"r@acme.test"},{"email":"r@acme.test"}],"subject"`, 1), 400, "reply_to_list"},
		{"CustomArgsTooLarge", "", strings.Replace(ok, `"subject"`, `"custom_args":{"a":"`+strings.Repeat("x", 10000)+`"},"subject"`, 1), 400, "custom_args"},
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
