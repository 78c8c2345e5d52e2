// Package httpxtest is what the provider packages' tests share: an httpx
// client with millisecond retry waits whose debug log is captured, so a test
// can both exercise in-process retries quickly and check that no secret or
// body reaches the log.
package httpxtest

import (
	"bytes"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// Logs collects log output from concurrent writers.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Client returns a client as the sidecar builds it, with retry waits of a
// millisecond or so, logging at debug level into the returned Logs.
func Client() (*http.Client, *Logs) {
	logs := &Logs{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return httpx.New(httpx.Config{Version: "test", Logger: logger,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}), logs
}
