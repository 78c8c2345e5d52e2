package providerevents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/httpserver"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

// MaxBody bounds every webhook request body: the largest provider's cap
// (SendGrid's, whose batches are posted when they reach about 768 KB; each
// provider's own cap is beside its verifier). A body is read only once its
// request's headers pass the provider's checks, and only MaxReading at once.
const MaxBody = 1 << 20

// MaxReading is the most webhook bodies read (and held) at once; a request
// beyond it is answered 503 on its headers, and providers retry. With the
// caps, webhook bodies never hold more than MaxReading × MaxBody of memory.
const MaxReading = 8

// DefaultTolerance is how far a signed timestamp may be from our clock, either
// way: Svix's and the Standard Webhooks' five minutes, used for SendGrid too,
// which signs a timestamp but documents no window.
const DefaultTolerance = 5 * time.Minute

// Routes, relative to the webhook listener's root.
const (
	ResendPath        = "/webhooks/resend"
	SendGridPath      = "/webhooks/sendgrid"
	PostmarkPath      = "/webhooks/postmark"
	TwilioStatusPath  = "/webhooks/twilio/status"
	TwilioInboundPath = "/webhooks/twilio/inbound"
)

// Config says which webhooks are on and how each is verified. Every credential
// is a secret: never logged. A provider whose credential is empty is off.
type Config struct {
	ResendSecret      string // RESEND_WEBHOOK_SECRET: whsec_<base64>, from the webhook's page in Resend
	SendGridPublicKey string // SENDGRID_WEBHOOK_PUBLIC_KEY: the Signed Event Webhook's verification key (base64 DER)
	PostmarkUser      string // POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD: the Basic
	PostmarkPassword  string //   credentials in the webhook URL given to Postmark
	TwilioAuthToken   string // TWILIO_AUTH_TOKEN: Twilio signs with the account's auth token
	// PublicURL is this server's root as the providers reach it
	// (SYMPHONY_PUBLIC_URL, e.g. https://my-sidecar.fly.dev): Twilio signs the
	// URL it requested, which the sidecar behind Fly's proxy cannot see.
	// Required for the Twilio routes.
	PublicURL string

	Store     *Store
	Metrics   *metrics.Metrics // nil: not counted
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
	Tolerance time.Duration    // zero: DefaultTolerance
}

// source is one webhook route: how to verify a request and what it says.
type source struct {
	provider string
	maxBody  int64 // the largest body the provider posts, with room to spare
	// headers refuses a request on its headers alone, before its body is read;
	// verify checks headers and body.
	headers func(r *http.Request, now time.Time) error
	verify  func(r *http.Request, body []byte, now time.Time) error
	parse   func(r *http.Request, body []byte, now time.Time) ([]Event, error)
	answer  func(w http.ResponseWriter) // nil: 200 {"ok":true}
}

// maxRecording bounds the webhook requests writing to the database at once,
// so that a burst of provider posts cannot take the pool's connections from
// claiming and completing messages; the others wait their turn.
const maxRecording = 2

// Server serves the enabled webhooks.
type Server struct {
	cfg       Config
	mux       *http.ServeMux
	enabled   []string
	recording chan struct{}
	reading   httpserver.Slots
}

// New checks cfg and returns the server. An error names the variable at fault,
// never its value.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("delivery: Config.Store is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), recording: make(chan struct{}, maxRecording),
		reading: httpserver.NewSlots(MaxReading)}
	var errs []error
	add := func(path string, src *source, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		s.mux.Handle("POST "+path, s.handle(src))
		s.enabled = append(s.enabled, path)
	}
	if cfg.ResendSecret != "" {
		src, err := newResend(cfg.ResendSecret, cfg.Tolerance)
		add(ResendPath, src, err)
	}
	if cfg.SendGridPublicKey != "" {
		src, err := newSendGrid(cfg.SendGridPublicKey, cfg.Tolerance)
		add(SendGridPath, src, err)
	}
	if cfg.PostmarkUser != "" || cfg.PostmarkPassword != "" {
		src, err := newPostmark(cfg.PostmarkUser, cfg.PostmarkPassword)
		add(PostmarkPath, src, err)
	}
	if cfg.TwilioAuthToken != "" && cfg.PublicURL != "" {
		status, inbound, err := newTwilio(cfg.TwilioAuthToken, cfg.PublicURL)
		add(TwilioStatusPath, status, err)
		if err == nil {
			add(TwilioInboundPath, inbound, nil)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Enabled lists the routes served, for the start-up log.
func (s *Server) Enabled() []string { return s.enabled }

// ServeHTTP routes a request; routes of providers that are off answer 404,
// without reading the body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		w.Header().Set("Connection", "close")
	}
	s.mux.ServeHTTP(w, r)
}

// rejection is a request refused before anything in it was believed.
type rejection struct {
	code    int
	outcome string // the metric's label
	msg     string // safe to log and answer: never a secret or the body
}

func (e *rejection) Error() string { return e.msg }

func unauthorized(format string, a ...any) error {
	return &rejection{http.StatusUnauthorized, "unauthorized", fmt.Sprintf(format, a...)}
}
func badSignature(format string, a ...any) error {
	return &rejection{http.StatusForbidden, "bad_signature", fmt.Sprintf(format, a...)}
}
func stale(format string, a ...any) error {
	return &rejection{http.StatusForbidden, "stale", fmt.Sprintf(format, a...)}
}
func malformed(format string, a ...any) error {
	return &rejection{http.StatusBadRequest, "malformed", fmt.Sprintf(format, a...)}
}

// checkTimestamp refuses a signed Unix time outside the tolerance either way.
func checkTimestamp(header, v string, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return badSignature("%s is not a Unix time", header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return stale("%s is %s away from now; at most %s is accepted", header, d.Round(time.Second), tolerance)
	}
	return nil
}

func (s *Server) handle(src *source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.cfg.Now()
		// Everything that can be refused on the headers is, before a byte of
		// the body is read.
		if r.ContentLength > src.maxBody {
			s.reject(w, r, src, tooLarge(src.maxBody))
			return
		}
		if err := src.headers(r, now); err != nil {
			s.reject(w, r, src, err)
			return
		}
		if !s.reading.TryTake() {
			w.Header().Set("Retry-After", "5")
			s.reject(w, r, src, &rejection{http.StatusServiceUnavailable, "busy", "too many webhook requests at once; retry later"})
			return
		}
		defer s.reading.Give()
		body, err := readBody(w, r, src.maxBody)
		if err != nil {
			s.reject(w, r, src, err)
			return
		}
		if err := src.verify(r, body, now); err != nil {
			s.reject(w, r, src, err)
			return
		}
		events, err := src.parse(r, body, now)
		if err != nil {
			s.reject(w, r, src, err)
			return
		}
		outcomes := make([]string, len(events))
		if len(events) > 0 {
			outcomes, err = s.record(r.Context(), events)
			if err != nil {
				// Not stored: a 5xx makes the provider deliver it again later.
				s.count(src.provider, "error")
				s.cfg.Log.Error("delivery webhook not stored; the provider will retry", "provider", src.provider,
					"events", len(events), "error", err)
				http.Error(w, "not stored; retry later", http.StatusServiceUnavailable)
				return
			}
		}
		s.count(src.provider, "accepted")
		if m := s.cfg.Metrics; m != nil {
			for i, e := range events {
				m.DeliveryEvents.WithLabelValues(src.provider, e.Status, outcomes[i]).Inc()
			}
		}
		s.cfg.Log.Debug("delivery webhook stored", "provider", src.provider, "events", len(events))
		if src.answer != nil {
			src.answer(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
}

// readBody reads a body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := httpserver.ReadBody(w, r, limit)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge(limit)
	case err != nil:
		return nil, malformed("reading the body: %v", err)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return &rejection{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", limit)}
}

// record stores events, waiting for a turn among maxRecording.
func (s *Server) record(ctx context.Context, events []Event) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case s.recording <- struct{}{}:
		defer func() { <-s.recording }()
	case <-ctx.Done():
		return nil, fmt.Errorf("error waiting to record delivery events: %w", ctx.Err())
	}
	return s.cfg.Store.Record(ctx, events)
}

// reject answers a refused request and logs it once, without secrets or body.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, src *source, err error) {
	var rej *rejection
	if !errors.As(err, &rej) {
		rej = &rejection{http.StatusBadRequest, "malformed", err.Error()}
	}
	s.count(src.provider, rej.outcome)
	s.cfg.Log.Warn("delivery webhook rejected", "provider", src.provider, "path", r.URL.Path,
		"status", rej.code, "outcome", rej.outcome, "reason", rej.msg, "remote", remote(r))
	if rej.code == http.StatusUnauthorized && src.provider == "postmark" {
		w.Header().Set("WWW-Authenticate", `Basic realm="symphony webhooks"`)
	}
	// The body may be unread: close rather than read it to reuse the connection.
	w.Header().Set("Connection", "close")
	http.Error(w, rej.msg, rej.code)
}

func (s *Server) count(provider, outcome string) {
	if m := s.cfg.Metrics; m != nil {
		m.DeliveryWebhooks.WithLabelValues(provider, outcome).Inc()
	}
}

// remote is the client as Fly's proxy reports it, else the peer.
func remote(r *http.Request) string {
	if v := r.Header.Get("Fly-Client-IP"); v != "" {
		return v
	}
	if v, _, ok := strings.Cut(r.Header.Get("X-Forwarded-For"), ","); ok || v != "" {
		return strings.TrimSpace(v)
	}
	return r.RemoteAddr
}
