package listener

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

// Channels the listener subscribes to. The schema's triggers NOTIFY on these:
// messages to send on one, changes of configuration to reload on the other.
const (
	ChannelMessages = "symphony"        // payload: a queue name, or "*" for all
	ChannelConfig   = "symphony_config" // payload: a flag's name, "limits" or "kinds"
)

// Listener delivers notifications to OnNotify and calls OnConnect after every
// successful (re)connect.
type Listener struct {
	connString string
	log        *slog.Logger
	m          *metrics.Metrics
	connected  atomic.Bool

	OnNotify  func(channel, payload string)
	OnConnect func()

	// MaxBackoff caps the wait between reconnect attempts (default 10s).
	MaxBackoff time.Duration
	// IdleCheck is how long the connection may stay silent before it is pinged
	// (default 30s).
	IdleCheck time.Duration
}

func (l *Listener) idleCheck() time.Duration {
	if l.IdleCheck > 0 {
		return l.IdleCheck
	}
	return 30 * time.Second
}

// pgconnTimeout reports whether err is the wait's own deadline, which leaves the
// connection usable.
func pgconnTimeout(err error) bool {
	return pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)
}

// New returns a Listener for the database at connString.
func New(connString string, log *slog.Logger, m *metrics.Metrics) *Listener {
	return &Listener{connString: connString, log: log.With("component", "listener"), m: m, MaxBackoff: 10 * time.Second}
}

// Connected reports whether the LISTEN connection is up.
func (l *Listener) Connected() bool { return l.connected.Load() }

// Run listens until ctx ends, reconnecting with jittered exponential backoff.
func (l *Listener) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := l.session(ctx)
		l.setConnected(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond // it was up for a while: start over
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		l.log.Warn("LISTEN connection lost; reconnecting", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, l.MaxBackoff)
	}
}

func (l *Listener) setConnected(up bool) {
	l.connected.Store(up)
	if up {
		l.m.ListenerConnected.Set(1)
	} else {
		l.m.ListenerConnected.Set(0)
	}
}

// session holds one connection until it fails or ctx ends.
func (l *Listener) session(ctx context.Context) error {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(dialCtx, l.connString)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	for _, ch := range []string{ChannelMessages, ChannelConfig} {
		if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	l.setConnected(true)
	l.log.Info("listening", "channels", []string{ChannelMessages, ChannelConfig})
	if l.OnConnect != nil {
		l.OnConnect() // whatever was notified while we were away: look now
	}
	for {
		// Wait in bounded slices and ping in between: a half-open TCP connection
		// (a database restarted behind a proxy, say) would otherwise wait forever.
		waitCtx, cancel := context.WithTimeout(ctx, l.idleCheck())
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || !pgconnTimeout(err) {
				return err
			}
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		l.m.Notifications.Inc()
		if l.OnNotify != nil {
			l.OnNotify(n.Channel, n.Payload)
		}
	}
}
