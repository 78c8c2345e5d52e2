package httpserver

import "time"

// Limits bound one listener.
type Limits struct {
	// MaxConns is the most connections held at once (see the package doc for
	// what happens at the cap).
	MaxConns int
	// MaxActive is the most requests in handlers at once; a request beyond it
	// is answered 503 with Retry-After, before its body is read. Keep it below
	// MaxConns, so that a new connection always finds one to replace.
	MaxActive int
	// MaxBody is the largest request body accepted, in bytes; zero accepts
	// none. A larger declared length is answered 413 before anything of the
	// body is read, and a body that turns out larger fails to read. Negative:
	// the handler bounds bodies itself.
	MaxBody int64
	// BodyReaders, when positive, makes the server read a request's body
	// before its handler runs, at most this many at once (more are answered
	// 503 at once), so that slow bodies hold no handler. Zero leaves the body
	// to the handler, which may refuse a request on its headers first.
	BodyReaders int

	ReadHeaderTimeout time.Duration // to read a request's headers
	ReadTimeout       time.Duration // to read a whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer
	IdleTimeout       time.Duration // a kept-alive connection waiting for its next request
	MaxHeaderBytes    int
}

// APILimits are for the API listener (SYMPHONY_HTTP_ADDR): /healthz, /readyz,
// /metrics, /status, /outbox. Every route is a GET, so no body is accepted.
// /status may wait up to a few seconds for the database.
func APILimits() Limits {
	return Limits{MaxConns: 64, MaxActive: 16, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
}

// DashboardLimits are for the dashboard (SYMPHONY_DASHBOARD_ADDR): its forms
// (log in, retry) post a few hundred bytes.
func DashboardLimits() Limits {
	l := APILimits()
	l.MaxBody, l.BodyReaders = 64<<10, 8
	l.MaxHeaderBytes = 32 << 10 // cookies
	return l
}

// WebhookLimits are for the delivery webhooks (SYMPHONY_WEBHOOK_ADDR), which
// the providers post to: more connections, since providers keep theirs alive
// and post in bursts. sidecar/providerevents bounds bodies itself, with a cap per
// provider checked after the provider's signature headers, and bounds the
// slow part (reading and storing bodies, a few at once). Most requests are
// answered on their headers in microseconds, so the bound on handlers is
// generous: it only keeps room for new connections.
func WebhookLimits() Limits {
	return Limits{MaxConns: 256, MaxActive: 192, MaxBody: -1, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second, MaxHeaderBytes: 32 << 10}
}
