package outhook_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/outhook"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// lockedBuffer collects log lines from concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Receivers often authenticate by a token in the URL (a path segment, a query
// parameter). It must not reach the error (stored as last_error, shown on
// /status) or the log, whether the request failed on the way or the receiver
// quoted its URL back.
func TestWebhook_KeepsURLSecretsOutOfErrorsAndLogs(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "Cannot POST "+r.URL.RequestURI()+" at "+r.Host+r.URL.RequestURI())
	}))
	t.Cleanup(echo.Close)
	const path, query = "/hooks/T0k3nInThePath", "?token=QueryS3cret&region=eu"
	for _, c := range []struct{ name, base string }{
		{"Refused", "http://127.0.0.1:1"},
		{"QuotedBack", echo.URL},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			hc := httpx.New(httpx.Config{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			_, err := outhook.New(hc).Deliver(context.Background(), outhook.Target{Name: "webhook", URL: c.base + path + query},
				provider.Send{MessageID: 1}, outhook.Message{ID: 1, Payload: []byte(`{}`)})
			if err == nil {
				t.Fatal("delivered")
			}
			t.Logf("error: %v", err)
			for _, secret := range []string{"T0k3nInThePath", "QueryS3cret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes the URL's secret %q: %v", secret, err)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log quotes the URL's secret %q:\n%s", secret, logs.String())
				}
			}
			if host := strings.TrimPrefix(c.base, "http://"); !strings.Contains(err.Error(), host) && c.name == "Refused" {
				t.Errorf("the error does not say where it went (%s): %v", host, err)
			}
		})
	}
}
