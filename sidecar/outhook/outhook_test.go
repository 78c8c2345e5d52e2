package outhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/outhook"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

func TestWebhook_ClassifiesAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		status          int
		sbCode          string
		body            string
		permanent, sent bool
	}{
		{"OK", 200, "", `{"done":true}`, false, false},
		{"Unauthorized", 401, "", `{"msg":"Invalid JWT"}`, true, false},
		{"NotDeployed", 404, "", `{"code":"NOT_FOUND"}`, true, false},
		{"Threw", 500, "WORKER_ERROR", ``, false, true},
		{"BootError", 503, "BOOT_ERROR", ``, false, false},
		{"IdleTimeout", 504, "IDLE_TIMEOUT", ``, false, true},
		{"ResourceLimit", 546, "WORKER_RESOURCE_LIMIT", ``, false, true},
		{"RateLimited", 429, "", ``, false, false},
		{"Conflict", 409, "", `taken`, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.sbCode != "" {
					w.Header().Set("sb-error-code", tc.sbCode)
				}
				if tc.status == 429 {
					w.Header().Set("Retry-After", "7")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := outhook.New(httpx.New(httpx.Config{RetryMax: -1}))
			r, err := c.Deliver(context.Background(), outhook.Target{Name: "edge_function", URL: srv.URL},
				provider.Send{Namespace: "ns", MessageID: 7, Attempt: 1}, outhook.Message{ID: 7, Kind: "x.y", Payload: []byte(`{}`)})
			if tc.status == 200 {
				if err != nil || r.Extra["response"] == nil {
					t.Fatalf("success: %+v %v", r, err)
				}
				return
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a provider.Error", err)
			}
			if pe.Permanent != tc.permanent || pe.MaybeSent != tc.sent || pe.StatusCode != tc.status || pe.Code != tc.sbCode {
				t.Fatalf("classified %+v", pe)
			}
			if tc.status == 429 && pe.RetryAfter != 7*time.Second {
				t.Fatalf("Retry-After not honoured: %s", pe.RetryAfter)
			}
		})
	}
}

func TestWebhook_SignsAndVerifies(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":1}`)
	now := time.Unix(1_800_000_000, 0)
	sig := outhook.Sign("s3cret", now, body)
	if !strings.HasPrefix(sig, "t=1800000000,v1=") {
		t.Fatalf("signature %q", sig)
	}
	if err := outhook.Verify("s3cret", sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]error{
		"wrong secret": outhook.Verify("other", sig, body, now, 5*time.Minute),
		"changed body": outhook.Verify("s3cret", sig, []byte(`{"id":2}`), now, 5*time.Minute),
		"stale":        outhook.Verify("s3cret", sig, body, now.Add(time.Hour), 5*time.Minute),
		"malformed":    outhook.Verify("s3cret", "v1=abc", body, now, 5*time.Minute),
	} {
		if check == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A connection that fails before reaching the server proves nothing was done.
func TestWebhook_ConnectionRefusedIsNotMaybeSent(t *testing.T) {
	t.Parallel()
	c := outhook.New(httpx.New(httpx.Config{RetryMax: -1}))
	_, err := c.Deliver(context.Background(), outhook.Target{Name: "webhook", URL: "http://127.0.0.1:1/x"},
		provider.Send{MessageID: 1}, outhook.Message{ID: 1, Payload: []byte(`{}`)})
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Permanent || pe.MaybeSent {
		t.Fatalf("classified %+v (%v)", pe, err)
	}
}
