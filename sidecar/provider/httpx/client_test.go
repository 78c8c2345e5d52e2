package httpx_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// roundTripFunc counts attempts and answers with fn.
type roundTripFunc struct {
	calls atomic.Int32
	fn    func(*http.Request) (*http.Response, error)
}

func (f *roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	return f.fn(r)
}

func answer(status int, header http.Header, body string) func(*http.Request) (*http.Response, error) {
	return func(r *http.Request) (*http.Response, error) {
		if header == nil {
			header = http.Header{}
		}
		return &http.Response{StatusCode: status, Header: header.Clone(), Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
}

func fail(err error) func(*http.Request) (*http.Response, error) {
	return func(*http.Request) (*http.Response, error) { return nil, err }
}

func fastClient(rt http.RoundTripper, logger *slog.Logger) *http.Client {
	return httpx.New(httpx.Config{Version: "1.2.3", Transport: rt, Logger: logger,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
}

func post(t *testing.T, c *http.Client, ctx context.Context) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://api.example.test/send", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk_secret_value")
	return c.Do(req)
}

func TestHTTPX_RetryPolicy(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name       string
		replaySafe bool
		fn         func(*http.Request) (*http.Response, error)
		wantCalls  int32
	}{
		{"ServerErrorRetriedWhenReplaySafe", true, answer(500, nil, "boom"), 3},
		{"ServerErrorNotRetriedWithoutKey", false, answer(500, nil, "boom"), 1},
		{"GatewayTimeoutNotRetriedWithoutKey", false, answer(504, nil, ""), 1},
		{"NotImplementedNeverRetried", true, answer(501, nil, ""), 1},
		{"RateLimitNeverRetriedInProcess", true, answer(429, nil, ""), 1},
		{"RetryAfterNeverRetriedInProcess", true, answer(503, http.Header{"Retry-After": {"1"}}, ""), 1},
		{"ClientErrorNeverRetried", true, answer(422, nil, ""), 1},
		{"SuccessNotRetried", false, answer(202, nil, ""), 1},
		{"DialErrorRetriedEvenWithoutKey", false, fail(dialErr), 3},
		{"UnknownOutcomeNotRetriedWithoutKey", false, fail(io.ErrUnexpectedEOF), 1},
		{"UnknownOutcomeRetriedWhenReplaySafe", true, fail(io.ErrUnexpectedEOF), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &roundTripFunc{fn: tt.fn}
			ctx := context.Background()
			if tt.replaySafe {
				ctx = httpx.WithReplaySafe(ctx)
			}
			resp, err := post(t, fastClient(rt, nil), ctx)
			if err == nil {
				resp.Body.Close()
			}
			if got := rt.calls.Load(); got != tt.wantCalls {
				t.Errorf("attempts = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestHTTPX_ReturnsLastResponseAfterRetries(t *testing.T) {
	t.Parallel()
	rt := &roundTripFunc{fn: answer(502, http.Header{"X-Trace": {"t1"}}, `{"error":"upstream"}`)}
	resp, err := post(t, fastClient(rt, nil), httpx.WithReplaySafe(context.Background()))
	if err != nil {
		t.Fatalf("Do: %v, want the last response", err)
	}
	body, _ := httpx.ReadBody(resp)
	if resp.StatusCode != 502 || string(body) != `{"error":"upstream"}` || resp.Header.Get("X-Trace") != "t1" {
		t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestHTTPX_ReturnsTransportErrorAfterRetries(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	rt := &roundTripFunc{fn: fail(dialErr)}
	_, err := post(t, fastClient(rt, nil), context.Background())
	if err == nil || !httpx.NotSent(err) {
		t.Fatalf("err = %v, want a dial error NotSent recognises", err)
	}
}

func TestHTTPX_NoRetryWhenDeadlineTooClose(t *testing.T) {
	t.Parallel()
	rt := &roundTripFunc{fn: answer(500, nil, "")}
	c := httpx.New(httpx.Config{Transport: rt, RetryWaitMin: 100 * time.Millisecond, RetryWaitMax: time.Second})
	ctx, cancel := context.WithTimeout(httpx.WithReplaySafe(context.Background()), 500*time.Millisecond)
	defer cancel()
	resp, err := post(t, c, ctx)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()
	if got := rt.calls.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1: a retry cannot fit before the deadline", got)
	}
}

func TestHTTPX_SetsUserAgentAndKeepsCallers(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("User-Agent"))
	}))
	defer srv.Close()
	c := httpx.New(httpx.Config{Version: "1.2.3"})
	for _, ua := range []string{"", "custom/1"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(got) != 2 || got[0] != "symphony-messenger/1.2.3" || got[1] != "custom/1" {
		t.Errorf("user agents = %q", got)
	}
	if httpx.UserAgent("") != "symphony-messenger/dev" {
		t.Errorf("UserAgent(\"\") = %q", httpx.UserAgent(""))
	}
}

func TestHTTPX_DoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/send", strings.NewReader("x"))
	resp, err := httpx.New(httpx.Config{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || hits.Load() != 1 {
		t.Errorf("status %d after %d hits; want the 307 itself after 1", resp.StatusCode, hits.Load())
	}
}

func TestHTTPX_LogsThroughSlogWithoutSecrets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt := &roundTripFunc{fn: fail(io.ErrUnexpectedEOF)}
	_, _ = post(t, fastClient(rt, logger), httpx.WithReplaySafe(context.Background()))
	logs := buf.String()
	for _, want := range []string{`"component":"httpx"`, "performing request", "retrying request", `"level":"WARN"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	for _, secret := range []string{"sk_secret_value", "Bearer", `{"a":1}`} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestHTTPX_NotSentAndMaybeProcessed(t *testing.T) {
	t.Parallel()
	if !httpx.NotSent(&net.OpError{Op: "dial", Err: errors.New("refused")}) {
		t.Error("dial error should be NotSent")
	}
	if !httpx.NotSent(&net.DNSError{Err: "no such host", Name: "x"}) {
		t.Error("DNS error should be NotSent")
	}
	if httpx.NotSent(&net.OpError{Op: "read", Err: errors.New("reset")}) || httpx.NotSent(context.DeadlineExceeded) {
		t.Error("read errors and timeouts leave the outcome unknown")
	}
	for status, want := range map[int]bool{500: true, 502: true, 504: true, 503: false, 429: false, 400: false} {
		if httpx.MaybeProcessed(status) != want {
			t.Errorf("MaybeProcessed(%d) = %v", status, !want)
		}
	}
}

func TestHTTPX_KeepsAnswerThatArrivesAtTheDeadline(t *testing.T) {
	t.Parallel()
	rt := &roundTripFunc{fn: func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done() // the answer arrives just after the deadline
		return answer(200, nil, `{"id":"x"}`)(r)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	resp, err := post(t, fastClient(rt, nil), ctx)
	if err != nil {
		t.Fatalf("Do: %v; the 200 that arrived must not be dropped", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status = %d", resp.StatusCode)
	}
}
