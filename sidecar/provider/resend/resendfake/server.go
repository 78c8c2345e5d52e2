package resendfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// DefaultAPIKey is the key the fake accepts when Options.APIKey is empty.
const DefaultAPIKey = "re_fake_key"

// Options configures a Server.
type Options struct {
	// APIKey is the only Bearer key accepted. Empty means DefaultAPIKey.
	APIKey string
	// Pace, when set, makes the fake enforce a rate limit (answering 429 as
	// the provider does) and answer after a fixed latency.
	Pace fakehttp.Pace
}

// Email is one email the fake accepted, as the client sent it.
type Email struct {
	ID             string            `json:"-"`
	IdempotencyKey string            `json:"-"`
	From           string            `json:"from"`
	To             Addresses         `json:"to"`
	Cc             Addresses         `json:"cc"`
	Bcc            Addresses         `json:"bcc"`
	ReplyTo        Addresses         `json:"reply_to"`
	Subject        string            `json:"subject"`
	HTML           string            `json:"html"`
	Text           string            `json:"text"`
	Headers        map[string]string `json:"headers"`
	Tags           []Tag             `json:"tags"`
	Attachments    []Attachment      `json:"attachments"`
	// The rest of SendEmailRequest, which Symphony does not send.
	Template    json.RawMessage `json:"template"`
	ScheduledAt string          `json:"scheduled_at"`
	TopicID     string          `json:"topic_id"`
}

// Tag is one entry of an email's tags.
type Tag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Attachment is one attachment as sent: Content is base64.
type Attachment struct {
	Content     string `json:"content"`
	Filename    string `json:"filename"`
	Path        string `json:"path"`
	ContentType string `json:"content_type"`
	ContentID   string `json:"content_id"`
}

// Server is a running fake. Its embedded Recorder and Faults give
// Requests/RequestCount and Inject/PendingFaults.
type Server struct {
	fakehttp.Recorder
	fakehttp.Faults

	ts     *httptest.Server
	apiKey string
	pace   *fakehttp.Limiter

	mu     sync.Mutex
	seq    int
	emails []Email
	keys   map[string]*keyed
}

// New starts a fake. Close it when done.
func New(opts Options) *Server {
	s := &Server{apiKey: opts.APIKey, keys: map[string]*keyed{}, pace: fakehttp.NewLimiter(opts.Pace)}
	if s.apiKey == "" {
		s.apiKey = DefaultAPIKey
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to configure the client with (no trailing slash).
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the fake down.
func (s *Server) Close() { s.ts.Close() }

// SetRateLimit makes the fake allow perSecond requests a second from its next
// window on (0: no limit), as when the account's plan changes.
func (s *Server) SetRateLimit(perSecond int) { s.pace.SetLimit(perSecond) }

// RefusedBySecond is how many requests the fake's rate limit refused in each
// second after the first request.
func (s *Server) RefusedBySecond() []int { return s.pace.RefusedBySecond() }

// Emails returns every email accepted so far, in order. A replayed
// idempotent request does not add one.
func (s *Server) Emails() []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Email(nil), s.emails...)
}

// ErrorFault answers the next request with status and a Resend error body
// with the given name and message, e.g. ErrorFault(429, "daily_quota_exceeded", "...").
func ErrorFault(status int, name, message string) fakehttp.Fault {
	b, _ := json.Marshal(apiError{StatusCode: status, Name: name, Message: message})
	return fakehttp.Fault{Kind: fakehttp.KindStatus, Status: status, Body: string(b)}
}

type apiError struct {
	StatusCode int    `json:"statusCode"`
	Name       string `json:"name"`
	Message    string `json:"message"`
}

func errorAnswer(status int, name, message string) (int, any) {
	return status, apiError{StatusCode: status, Name: name, Message: message}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := s.Record(r)
	win, gone := s.pace.Gate(r)
	switch {
	case gone:
		return
	case win.Refused:
		s.writeFault(w, fakehttp.RateLimited(win.ResetSeconds()))
		return
	}
	f := s.NextFault()
	switch f.Kind {
	case fakehttp.KindReset:
		if fakehttp.Wait(r.Context(), f.Delay) {
			fakehttp.HangUp(w)
		}
		return
	case fakehttp.KindStatus:
		if fakehttp.Wait(r.Context(), f.Delay) {
			s.writeFault(w, f)
		}
		return
	}

	status, answer := s.handle(r, req, f)
	if status == 0 {
		return // the client went away during a Slow fault
	}
	if status == http.StatusOK {
		switch f.Kind {
		case fakehttp.KindResetAfterAccept:
			fakehttp.HangUp(w)
			return
		case fakehttp.KindMalformed:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(fakehttp.MalformedBody))
			return
		}
	}
	if s.pace.Limited() {
		setRateLimitHeaders(w.Header(), win.Limit, win.Remaining, win.ResetSeconds())
	}
	fakehttp.WriteJSON(w, status, answer)
}

// handle authenticates, applies idempotency and the fault's delay, and
// accepts or rejects the email. Status 0 means the client went away.
func (s *Server) handle(r *http.Request, req fakehttp.Request, f fakehttp.Fault) (int, any) {
	accept := s.accept
	switch req.Path {
	case "/emails":
	case "/emails/batch":
		accept = s.acceptBatch
	default:
		return errorAnswer(http.StatusNotFound, "not_found", "The requested endpoint does not exist.")
	}
	if req.Method != http.MethodPost {
		return errorAnswer(http.StatusMethodNotAllowed, "method_not_allowed", "Method is not allowed for the requested path.")
	}
	auth := req.Header.Get("Authorization")
	if auth == "" {
		return errorAnswer(http.StatusUnauthorized, "missing_api_key", "Missing API key in the authorization header.")
	}
	if auth != "Bearer "+s.apiKey {
		return errorAnswer(http.StatusUnauthorized, "validation_error", "API key is invalid")
	}

	keys := req.Header.Values("Idempotency-Key")
	if len(keys) == 0 {
		if !fakehttp.Wait(r.Context(), f.Delay) {
			return 0, nil
		}
		return accept(req, "")
	}
	key := keys[0]
	if len(key) < 1 || len(key) > 256 {
		return errorAnswer(http.StatusBadRequest, "invalid_idempotency_key", "The key must be between 1-256 chars.")
	}
	if status, answer, replay := s.begin(key, req.Body); replay {
		return status, answer
	}
	if !fakehttp.Wait(r.Context(), f.Delay) {
		s.finish(key, 0, nil)
		return 0, nil
	}
	status, answer := accept(req, key)
	s.finish(key, status, answer)
	return status, answer
}

// accept validates the email as Resend does and records it.
func (s *Server) accept(req fakehttp.Request, key string) (int, any) {
	var e Email
	if err := fakehttp.DecodeStrict(req.Body, &e); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errorAnswer(http.StatusBadRequest, "validation_error", "Invalid JSON: "+err.Error())
		}
		// A field of the wrong type, or one POST /emails does not have.
		return errorAnswer(http.StatusUnprocessableEntity, "validation_error", err.Error())
	}
	if st, a, bad := validate(&e); bad {
		return st, a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e.ID = fmt.Sprintf("00000000-0000-4000-8000-%012x", s.seq)
	e.IdempotencyKey = key
	s.emails = append(s.emails, e)
	return http.StatusOK, map[string]string{"id": e.ID}
}

func (s *Server) writeFault(w http.ResponseWriter, f fakehttp.Fault) {
	if f.Status == http.StatusTooManyRequests {
		reset := "1"
		if _, err := strconv.Atoi(f.RetryAfter); err == nil {
			reset = f.RetryAfter
		}
		if s.pace.Limited() {
			setRateLimitHeaders(w.Header(), s.pace.Limit(), 0, reset)
		} else {
			// An injected 429 states no limit: the fake enforces none, and
			// a sidecar would learn it.
			w.Header().Set("Ratelimit-Remaining", "0")
			w.Header().Set("Ratelimit-Reset", reset)
		}
	}
	f.SetHeaders(w.Header())
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	name, msg := "internal_server_error", "An unexpected error occurred."
	switch {
	case f.Status == http.StatusTooManyRequests:
		name, msg = "rate_limit_exceeded", "Too many requests. Please limit the number of requests per second."
	case f.Status == http.StatusConflict:
		name, msg = "concurrent_idempotent_requests", "Same idempotency key used while original request is still in progress."
	case f.Status == http.StatusUnprocessableEntity:
		name, msg = "validation_error", "Validation failed."
	case f.Status >= 400 && f.Status < 500:
		name, msg = "validation_error", http.StatusText(f.Status)
	}
	st, a := errorAnswer(f.Status, name, msg)
	fakehttp.WriteJSON(w, st, a)
}

// setRateLimitHeaders sets the IETF-draft headers Resend documents: the
// window's limit, what it has left, and reset, seconds until it resets.
func setRateLimitHeaders(h http.Header, limit, remaining int, reset string) {
	h.Set("Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("Ratelimit-Remaining", strconv.Itoa(remaining))
	h.Set("Ratelimit-Reset", reset)
}

// Addresses is a list of addresses. It decodes from a string or an array of
// strings, as Resend accepts for to, cc, bcc and reply_to.
type Addresses []string

func (l *Addresses) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = Addresses{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}
