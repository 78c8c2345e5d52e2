package resendfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

const body = `{"from":"a@acme.test","to":"b@example.test","subject":"S","text":"hi"}`

type answer struct {
	Status int
	ID     string `json:"id"`
	Name   string `json:"name"`
}

func post(t *testing.T, srv *resendfake.Server, key, auth, payload string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/emails", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST: %v", err) // not Fatal: also called from a goroutine
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode}
	_ = json.Unmarshal(b, &a)
	return a
}

func TestResendFake_AnswersLikeResend(t *testing.T) {
	t.Parallel()
	srv := resendfake.New(resendfake.Options{APIKey: "re_k"})
	defer srv.Close()
	const auth = "Bearer re_k"
	tests := []struct {
		name, key, auth, payload string
		status                   int
		errName                  string
	}{
		{"Accepted", "", auth, body, 200, ""},
		{"MissingKey", "", "", body, 401, "missing_api_key"},
		{"WrongKey", "", "Bearer nope", body, 401, "validation_error"},
		{"BadJSON", "", auth, "{", 400, "validation_error"},
		{"MissingTo", "", auth, `{"from":"a@acme.test","subject":"S","text":"x"}`, 422, "missing_required_field"},
		{"NoBody", "", auth, `{"from":"a@acme.test","to":["b@x.test"],"subject":"S"}`, 422, "validation_error"},
		{"BadTag", "", auth, strings.Replace(body, `}`, `,"tags":[{"name":"a b","value":"c"}]}`, 1), 422, "validation_error"},
		{"BadTagValue", "", auth, strings.Replace(body, `}`, `,"tags":[{"name":"campaign","value":"spring sale"}]}`, 1), 422, "validation_error"},
		{"LongTagValue", "", auth, strings.Replace(body, `}`, `,"tags":[{"name":"a","value":"`+strings.Repeat("v", 257)+`"}]}`, 1), 422, "validation_error"},
		{"EmptyAttachment", "", auth, strings.Replace(body, `}`, `,"attachments":[{"filename":"f"}]}`, 1), 422, "invalid_attachment"},
		{"UnknownField", "", auth, strings.Replace(body, `}`, `,"reply-to":"r@acme.test"}`, 1), 422, "validation_error"},
		{"WrongType", "", auth, strings.Replace(body, `"S"`, `5`, 1), 422, "validation_error"},
		{"TooManyTo", "", auth, strings.Replace(body, `"b@example.test"`, `["b@example.test"`+strings.Repeat(`,"b@example.test"`, 50)+`]`, 1), 422, "validation_error"},
		{"CommaInName", "", auth, strings.Replace(body, `"b@example.test"`, `"Doe, John <b@example.test>"`, 1), 422, "validation_error"},
		{"AddressList", "", auth, strings.Replace(body, `"b@example.test"`, `["v@x.test, s@y.test <b@example.test>"]`, 1), 422, "validation_error"},
		{"BadFrom", "", auth, strings.Replace(body, `"a@acme.test"`, `"Acme"`, 1), 422, "validation_error"},
		{"BadReplyTo", "", auth, strings.Replace(body, `}`, `,"reply_to":["ok@acme.test","nope"]}`, 1), 422, "validation_error"},
		{"QuotedName", "", auth, strings.Replace(body, `"b@example.test"`, `"\"Doe, John\" <b@example.test>"`, 1), 200, ""},
		{"LongIdempotencyKey", strings.Repeat("k", 257), auth, body, 400, "invalid_idempotency_key"},
	}
	for _, tt := range tests {
		a := post(t, srv, tt.key, tt.auth, tt.payload)
		if a.Status != tt.status || a.Name != tt.errName {
			t.Errorf("%s: got %d %q, want %d %q", tt.name, a.Status, a.Name, tt.status, tt.errName)
		}
	}
	if n := len(srv.Emails()); n != 2 {
		t.Errorf("emails = %d, want 2", n)
	}
}

func TestResendFake_HonoursIdempotencyKeys(t *testing.T) {
	t.Parallel()
	srv := resendfake.New(resendfake.Options{})
	defer srv.Close()
	auth := "Bearer " + resendfake.DefaultAPIKey

	first := post(t, srv, "k1", auth, body)
	again := post(t, srv, "k1", auth, body)
	if first.Status != 200 || again.Status != 200 || again.ID != first.ID {
		t.Fatalf("replay: first %+v, again %+v; want the same id", first, again)
	}
	if other := post(t, srv, "k1", auth, strings.Replace(body, `"S"`, `"T"`, 1)); other.Status != 409 || other.Name != "invalid_idempotent_request" {
		t.Errorf("different payload: %+v", other)
	}
	// A rejected request leaves its key free.
	if bad := post(t, srv, "k2", auth, `{}`); bad.Status != 422 {
		t.Fatalf("bad = %+v", bad)
	}
	if good := post(t, srv, "k2", auth, body); good.Status != 200 {
		t.Errorf("key reused after rejection: %+v", good)
	}

	srv.Inject(fakehttp.Slow(300 * time.Millisecond))
	done := make(chan answer)
	go func() { done <- post(t, srv, "k3", auth, body) }()
	time.Sleep(100 * time.Millisecond)
	if c := post(t, srv, "k3", auth, body); c.Status != 409 || c.Name != "concurrent_idempotent_requests" {
		t.Errorf("concurrent: %+v", c)
	}
	if a := <-done; a.Status != 200 {
		t.Errorf("slow original: %+v", a)
	}
	if n := len(srv.Emails()); n != 3 {
		t.Errorf("emails = %d, want 3 (k1, k2, k3 once each)", n)
	}
}
