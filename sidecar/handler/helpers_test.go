package handler_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

func testDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	db := pgtest.NewDB(t)
	exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	return db.Pool
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// message loads a message as a claim would hand it to a handler.
func message(t testing.TB, pool *pgxpool.Pool, where string, args ...any) *queue.Message {
	t.Helper()
	m := &queue.Message{Attempt: 1}
	err := pool.QueryRow(context.Background(), `select id, kind, queue, payload, max_attempts, meta, created_at
		from symphony.messages where `+where, args...).Scan(&m.ID, &m.Kind, &m.Queue, &m.Payload, &m.MaxAttempts, &m.Meta, &m.CreatedAt)
	if err != nil {
		t.Fatalf("message where %s: %v", where, err)
	}
	return m
}

// clock is a controllable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t *testing.T, at string) *clock {
	t.Helper()
	v, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	return &clock{now: v}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t *testing.T, at string) {
	t.Helper()
	v, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.now = v
	c.mu.Unlock()
}

// sender records what it was asked to send.
type sender struct {
	mu     sync.Mutex
	emails []*provider.Email
	sms    []*provider.SMS
}

func (s *sender) Name() string { return "test" }

func (s *sender) SendEmail(_ context.Context, _ provider.Send, e *provider.Email) (provider.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emails = append(s.emails, e)
	return provider.Receipt{Provider: "test", MessageID: "e"}, nil
}

func (s *sender) SendSMS(_ context.Context, _ provider.Send, m *provider.SMS) (provider.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sms = append(s.sms, m)
	return provider.Receipt{Provider: "test", MessageID: "s"}, nil
}

func field(t *testing.T, raw json.RawMessage, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	b, _ := json.Marshal(m[name])
	return string(b)
}
