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
	// Pace, when set, makes the fake enforce a rate limit (answering 429
	// with error 20429 and no rate-limit headers, as Twilio does) and answer
	// after a fixed latency.
	Pace fakehttp.Pace
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
}

// New starts a fake. Close it when done.
func New(opts Options) *Server {
	if opts.AccountSID == "" {
		opts.AccountSID = DefaultAccountSID
	}
	if opts.AuthToken == "" {
		opts.AuthToken = DefaultAuthToken
	}
	s := &Server{opts: opts, optedOut: map[string]bool{}, pace: fakehttp.NewLimiter(opts.Pace)}
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

// SetRateLimit makes the fake allow perSecond requests a second from its next
// window on (0: no limit), as when the account's plan changes.
func (s *Server) SetRateLimit(perSecond int) { s.pace.SetLimit(perSecond) }

// RefusedBySecond is how many requests the fake's rate limit refused in each
// second after the first request.
func (s *Server) RefusedBySecond() []int { return s.pace.RefusedBySecond() }

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
	req := s.Record(r)
	win, gone := s.pace.Gate(r)
	switch {
	case gone:
		return
	case win.Refused:
		// Twilio's 429 is error 20429 and states no limit.
		s.writeFault(w, fakehttp.Status(http.StatusTooManyRequests))
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
		s.writeFault(w, f)
		return
	}
	status, answer := s.handle(r, req)
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
