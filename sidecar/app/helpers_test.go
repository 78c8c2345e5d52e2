package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/app"
	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

const emailPayload = `{"to":"a@example.com","from":"me@example.com","subject":"hi","text":"hello"}`

// testDB returns a fresh migrated database with the master switch on.
func testDB(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.NewDB(t)
	exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	return db
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func dispatchID(t *testing.T, pool *pgxpool.Pool, kind, payload, options string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(context.Background(), `select symphony.dispatch($1, $2::jsonb, $3::jsonb)`, kind, payload, options).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// testConfig is a sidecar configuration for tests: fast retries, a short poll.
func testConfig(db *pgtest.DB) config.Config {
	c := config.Default()
	c.DatabaseURL = db.ConnString
	c.HTTPAddr = "127.0.0.1:0"
	c.Queues = map[string]int{"email": 8, "sms": 4, "default": 2}
	c.PollInterval = 200 * time.Millisecond
	c.RetryBase = 10 * time.Millisecond
	c.RetryMax = 40 * time.Millisecond
	c.Lease = 5 * time.Second
	c.HandlerTimeout = 2 * time.Second
	c.ShutdownTimeout = 3 * time.Second
	c.LogFormat = "text"
	return c
}

type sidecar struct {
	*app.Main
	cancel context.CancelFunc
	done   chan error
}

// start runs a sidecar in-process until the test ends (or stop is called).
func start(t *testing.T, cfg config.Config, email provider.EmailSender, sms provider.SMSSender) *sidecar {
	t.Helper()
	m := &app.Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), Email: email, SMS: sms}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sidecar{Main: m, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-s.done:
		t.Fatalf("sidecar exited before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar not ready after 10s")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *sidecar) stop(t *testing.T) error {
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // keep it for a second stop
		return err
	case <-time.After(15 * time.Second):
		t.Error("sidecar did not stop within 15s")
		return errors.New("timeout")
	}
}

func (s *sidecar) url(path string) string { return "http://" + s.Addr().String() + path }

func (s *sidecar) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(s.url(path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countState(t *testing.T, pool *pgxpool.Pool, st string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `select count(*) from symphony.messages where state = $1`, st).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fakeSender is a provider whose behaviour each test programs. It records every
// call and checks that no message is ever handled by two calls at once.
type fakeSender struct {
	name   string
	behave func(call int, s provider.Send) error // nil: always succeed
	delay  time.Duration

	mu       sync.Mutex
	calls    map[int64]int
	inFlight map[int64]bool
	overlap  atomic.Int64
	total    atomic.Int64
}

func newFake(behave func(call int, s provider.Send) error) *fakeSender {
	return &fakeSender{name: "fake", behave: behave, calls: map[int64]int{}, inFlight: map[int64]bool{}}
}

func (f *fakeSender) Name() string { return f.name }

func (f *fakeSender) do(ctx context.Context, s provider.Send) (provider.Receipt, error) {
	f.mu.Lock()
	if f.inFlight[s.MessageID] {
		f.overlap.Add(1)
	}
	f.inFlight[s.MessageID] = true
	f.calls[s.MessageID]++
	call := f.calls[s.MessageID]
	f.mu.Unlock()
	f.total.Add(1)
	defer func() {
		f.mu.Lock()
		delete(f.inFlight, s.MessageID)
		f.mu.Unlock()
	}()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return provider.Receipt{}, ctx.Err()
		}
	}
	if f.behave != nil {
		if err := f.behave(call, s); err != nil {
			return provider.Receipt{}, err
		}
	}
	return provider.Receipt{Provider: f.name, MessageID: fmt.Sprintf("fake-%d-%d", s.MessageID, call)}, nil
}

func (f *fakeSender) SendEmail(ctx context.Context, s provider.Send, _ *provider.Email) (provider.Receipt, error) {
	return f.do(ctx, s)
}

func (f *fakeSender) SendSMS(ctx context.Context, s provider.Send, _ *provider.SMS) (provider.Receipt, error) {
	return f.do(ctx, s)
}

func (f *fakeSender) callsFor(id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

func (f *fakeSender) distinct() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// newUnreadySidecar starts a sidecar that may never become ready and stops it
// when the test ends.
func newUnreadySidecar(t *testing.T, cfg config.Config) *app.Main {
	t.Helper()
	m := &app.Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("sidecar did not stop")
		}
	})
	return m
}
