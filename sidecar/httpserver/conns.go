package httpserver

import (
	"context"
	"net"
	"sync"
	"time"
)

// tracker holds a listener's connections, up to max.
type tracker struct {
	max     int
	changed func(open int)      // the number held changed
	dropped func(reason string) // a connection was closed to keep the cap

	mu    sync.Mutex
	conns map[*conn]struct{}
}

// conn is a held connection.
type conn struct {
	net.Conn
	t    *tracker
	once sync.Once

	// Guarded by t.mu.
	busy  bool      // a request of it is in a handler
	since time.Time // accepted, or its last request finished
}

// Close releases the connection's place; closing twice is harmless.
func (c *conn) Close() error {
	c.once.Do(func() { c.t.remove(c) })
	return c.Conn.Close()
}

func (c *conn) setBusy(busy bool) {
	c.t.mu.Lock()
	c.busy = busy
	if !busy {
		c.since = time.Now()
	}
	c.t.mu.Unlock()
}

// admit takes c in, making room by closing the held connection that has
// waited longest outside a handler; it refuses c when every one is in a
// handler.
func (t *tracker) admit(c *conn) bool {
	t.mu.Lock()
	var victim *conn
	if len(t.conns) >= t.max {
		for o := range t.conns {
			if !o.busy && (victim == nil || o.since.Before(victim.since)) {
				victim = o
			}
		}
		if victim == nil {
			t.mu.Unlock()
			return false
		}
		delete(t.conns, victim)
	}
	c.since = time.Now()
	t.conns[c] = struct{}{}
	open := len(t.conns)
	t.mu.Unlock()
	t.changed(open)
	if victim != nil {
		_ = victim.Close()
		t.dropped("evicted")
	}
	return true
}

func (t *tracker) remove(c *conn) {
	t.mu.Lock()
	delete(t.conns, c)
	open := len(t.conns)
	t.mu.Unlock()
	t.changed(open)
}

// limitListener admits accepted connections through the tracker.
type limitListener struct {
	net.Listener
	t *tracker
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &conn{Conn: nc, t: l.t}
		if l.t.admit(c) {
			return c, nil
		}
		_ = nc.Close()
		l.t.dropped("full")
	}
}

type connKey struct{}

// connContext lets handlers find their connection, to mark it busy.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}
