// Package kindtest holds what the tests of the message kinds (sidecar/kind/...)
// share: a migrated database per test, a message loaded as a claim hands it
// over, a clock the test moves, and a sender that records what it was asked
// to send.
package kindtest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// DB returns a fresh migrated database with the symphony flag on.
func DB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	db := pgtest.NewDB(t)
	Exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	return db.Pool
}

// Exec runs sql, failing the test on an error.
func Exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// QueryInt returns the number sql selects.
func QueryInt(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Message loads a message as a claim would hand it to a handler.
func Message(t testing.TB, pool *pgxpool.Pool, where string, args ...any) *msgtype.Message {
	t.Helper()
	m := &msgtype.Message{Attempt: 1}
	err := pool.QueryRow(context.Background(), `select id, kind, queue, payload, max_attempts, meta, created_at
		from symphony.messages where `+where, args...).Scan(&m.ID, &m.Kind, &m.Queue, &m.Payload, &m.MaxAttempts, &m.Meta, &m.CreatedAt)
	if err != nil {
		t.Fatalf("message where %s: %v", where, err)
	}
	return m
}

// Clock is a controllable clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock set to at (RFC 3339).
func NewClock(t *testing.T, at string) *Clock {
	t.Helper()
	v, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	return &Clock{now: v}
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to at (RFC 3339).
func (c *Clock) Set(t *testing.T, at string) {
	t.Helper()
	v, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.now = v
	c.mu.Unlock()
}

// Sender records what it was asked to send.
type Sender struct {
	mu     sync.Mutex
	Emails []*provider.Email
	SMS    []*provider.SMS
}

// Name implements provider.EmailSender.
func (s *Sender) Name() string { return "test" }

// SendEmail records e.
func (s *Sender) SendEmail(_ context.Context, _ provider.Send, e *provider.Email) (provider.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Emails = append(s.Emails, e)
	return provider.Receipt{Provider: "test", MessageID: "e"}, nil
}

// SendSMS records m.
func (s *Sender) SendSMS(_ context.Context, _ provider.Send, m *provider.SMS) (provider.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.SMS = append(s.SMS, m)
	return provider.Receipt{Provider: "test", MessageID: "s"}, nil
}

// Field returns the JSON of raw's top-level field name.
func Field(t *testing.T, raw json.RawMessage, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	b, _ := json.Marshal(m[name])
	return string(b)
}

// Attempt runs m's attempt as the worker does: by its job, if the kind's
// Prepare made one, else by the handler.
func Attempt(ctx context.Context, h msgtype.Handler, m *msgtype.Message, j msgtype.Job) (json.RawMessage, error) {
	if j != nil {
		return j.Send(ctx)
	}
	return h.Handle(ctx, m)
}
