package twiliofake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// Defaults used when Options leaves them empty.
const (
	DefaultAccountSID = "AC00000000000000000000000000000000"
	DefaultAuthToken  = "fake-twilio-auth-token"
)

// Options configures a Server.
type Options struct {
	// AccountSID is the account in the URL and the basic-auth user.
	// Empty means DefaultAccountSID.
	AccountSID string
	// AuthToken is the basic-auth password. Empty means DefaultAuthToken.
	AuthToken string
	// APIKeySID and APIKeySecret, when set, are also accepted as credentials.
	APIKeySID, APIKeySecret string
	// OptedOut lists E.164 numbers that replied STOP: sending to one answers
	// 400 with code 21610.
	OptedOut []string
	// Pace sets the latency of every answer. Its PerSecond must be 0:
	// Twilio limits no rate on this endpoint (it queues messages beyond a
	// sender's throughput), and its 429 is about concurrency (below).
	Pace fakehttp.Pace
	// Concurrency, when above 0, is the account's limit on concurrent REST
	// requests, which is what Twilio's 20429 documents: a request that
	// arrives while that many are in flight is refused at once with 429 and
	// error 20429. Twilio states the limit nowhere; every answer carries
	// Twilio-Concurrent-Requests, the account's requests in flight counting
	// this one.
	Concurrency int
}

// Message is one created message, as the client sent it.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	AuthUser            string // the basic-auth user that sent it
}

// Server is a running fake. Its embedded Recorder and Faults give
// Requests/RequestCount and Inject/PendingFaults.
type Server struct {
	fakehttp.Recorder
	fakehttp.Faults

	ts       *httptest.Server
	opts     Options
	pace     *fakehttp.Limiter
	optedOut map[string]bool

	mu       sync.Mutex
	seq      int
	messages []Message
	// The account's requests in flight, its concurrency limit (0: none),
	// the most that were ever in flight at once, and the requests the
	// limit refused.
	inflight, concurrency, peak, concurrencyRefused int
	requests                                        int // numbers each answer's Twilio-Request-Id
}

// New starts a fake. Close it when done.
func New(opts Options) *Server {
	if opts.AccountSID == "" {
		opts.AccountSID = DefaultAccountSID
	}
	if opts.AuthToken == "" {
		opts.AuthToken = DefaultAuthToken
	}
	if opts.Pace.PerSecond > 0 {
		panic("twiliofake: Twilio limits the requests an account has in flight, not requests a second: set Options.Concurrency")
	}
	s := &Server{opts: opts, optedOut: map[string]bool{}, pace: fakehttp.NewLimiter(opts.Pace), concurrency: opts.Concurrency}
	for _, n := range opts.OptedOut {
		s.optedOut[n] = true
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to configure the client with.
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the fake down.
func (s *Server) Close() { s.ts.Close() }

// SetConcurrency makes the fake allow n concurrent requests from now on (0:
// no limit), as when Twilio raises the account's limit.
func (s *Server) SetConcurrency(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.concurrency = n
}

// Concurrency is the most requests that were in flight at once, and how
// many requests the concurrency limit refused.
func (s *Server) Concurrency() (peak, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.concurrencyRefused
}

// enter counts a request in flight. n is the account's requests in flight
// counting this one, id numbers the request, and ok is false when that is over the concurrency limit (the
// request is refused, and counted as in flight until it is answered, as
// Twilio counts it).
func (s *Server) enter() (n, id int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	id = s.requests
	s.inflight++
	s.peak = max(s.peak, s.inflight)
	if s.concurrency > 0 && s.inflight > s.concurrency {
		s.concurrencyRefused++
		return s.inflight, id, false
	}
	return s.inflight, id, true
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
}

// RefusedBySecond is nil: the fake limits no rate (see Concurrency).
func (s *Server) RefusedBySecond() []int { return nil }

// Messages returns every created message, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func errorOf(status, code int, message string) (int, any) {
	e := apiError{Code: code, Message: message, Status: status}
	if code != 0 {
		e.MoreInfo = "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
	}
	return status, e
}

// ErrorFault answers the next request with status and a Twilio error with
// the given code and message.
func ErrorFault(status, code int, message string) fakehttp.Fault {
	_, e := errorOf(status, code, message)
	b, _ := json.Marshal(e)
	return fakehttp.Fault{Kind: fakehttp.KindStatus, Status: status, Body: string(b)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := s.Record(r)
	// Every answer of Twilio's REST API says how many of the account's
	// requests were in flight and how long this one took, and names it.
	n, id, ok := s.enter()
	defer s.leave()
	h := w.Header()
	h.Set("Twilio-Concurrent-Requests", strconv.Itoa(n))
	h.Set("Twilio-Request-Id", fmt.Sprintf("RQ%032x", id))
	took := func() { h.Set("Twilio-Request-Duration", fmt.Sprintf("%.3f", time.Since(start).Seconds())) }
	if !ok {
		// Over the account's concurrency: refused unprocessed, at once.
		took()
		s.writeFault(w, fakehttp.Status(http.StatusTooManyRequests))
		return
	}
	if !s.pace.Delay(r.Context()) {
		return
	}
	f := s.NextFault()
	if !fakehttp.Wait(r.Context(), f.Delay) {
		return
	}
	switch f.Kind {
	case fakehttp.KindReset:
		fakehttp.HangUp(w)
		return
	case fakehttp.KindStatus:
		took()
		s.writeFault(w, f)
		return
	}
	status, answer := s.handle(r, req)
	took()
	if status == http.StatusCreated {
		switch f.Kind {
		case fakehttp.KindResetAfterAccept:
			fakehttp.HangUp(w)
			return
		case fakehttp.KindMalformed:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(fakehttp.MalformedBody))
			return
		}
	}
	fakehttp.WriteJSON(w, status, answer)
}

func (s *Server) handle(r *http.Request, req fakehttp.Request) (int, any) {
	user, pass, ok := r.BasicAuth()
	authed := ok && ((user == s.opts.AccountSID && pass == s.opts.AuthToken) ||
		(s.opts.APIKeySID != "" && user == s.opts.APIKeySID && pass == s.opts.APIKeySecret))
	if !authed {
		return errorOf(http.StatusUnauthorized, 20003, "Authenticate")
	}
	want := "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages.json"
	if req.Path != want {
		return errorOf(http.StatusNotFound, 20404, "The requested resource "+req.Path+" was not found")
	}
	if req.Method != http.MethodPost {
		return errorOf(http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return errorOf(http.StatusBadRequest, 0, "Unable to parse request body as form")
	}
	m := Message{
		To: form.Get("To"), From: form.Get("From"), MessagingServiceSID: form.Get("MessagingServiceSid"),
		Body: form.Get("Body"), StatusCallback: form.Get("StatusCallback"), AuthUser: user,
	}
	if status, answer, ok := s.validate(form, &m); !ok {
		return status, answer
	}
	status := "queued"
	if m.MessagingServiceSID != "" && m.From == "" {
		status = "accepted"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.SID = fmt.Sprintf("SM%032x", s.seq)
	s.messages = append(s.messages, m)
	now := time.Now().UTC().Format(time.RFC1123Z)
	return http.StatusCreated, map[string]any{
		"sid": m.SID, "account_sid": s.opts.AccountSID, "to": m.To, "from": nullable(m.From),
		"messaging_service_sid": nullable(m.MessagingServiceSID), "body": m.Body, "status": status,
		"num_segments": "1", "direction": "outbound-api", "date_created": now, "date_updated": now,
		"date_sent": nil, "error_code": nil, "error_message": nil, "price": nil, "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + m.SID + ".json",
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) writeFault(w http.ResponseWriter, f fakehttp.Fault) {
	f.SetHeaders(w.Header())
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	code := 0
	switch f.Status {
	case http.StatusTooManyRequests:
		code = 20429
	case http.StatusInternalServerError:
		code = 20500
	case http.StatusServiceUnavailable:
		code = 20503
	}
	st, e := errorOf(f.Status, code, http.StatusText(f.Status))
	fakehttp.WriteJSON(w, st, e)
}
