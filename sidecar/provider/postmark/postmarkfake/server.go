package postmarkfake

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// DefaultServerToken is the token the fake accepts when Options.ServerToken
// is empty.
const DefaultServerToken = "fake-postmark-server-token"

// maxPayload is Postmark's documented Email API size limit (10 MB).
const maxPayload = 10 << 20

// Options configures a Server.
type Options struct {
	// ServerToken is the only X-Postmark-Server-Token accepted. Empty means
	// DefaultServerToken.
	ServerToken string
	// InactiveRecipients are addresses Postmark has deactivated (bounces,
	// spam complaints): sending to one answers 422 with ErrorCode 406.
	InactiveRecipients []string
	// Pace, when set, makes the fake enforce a rate limit (answering 429
	// with Postmark's body and no rate-limit headers, as Postmark does) and
	// answer after a fixed latency.
	Pace fakehttp.Pace
}

// Message is one accepted email, decoded.
type Message struct {
	MessageID     string            `json:"-"`
	From          string            `json:"From"`
	To            string            `json:"To"`
	Cc            string            `json:"Cc"`
	Bcc           string            `json:"Bcc"`
	Subject       string            `json:"Subject"`
	Tag           string            `json:"Tag"`
	HTMLBody      string            `json:"HtmlBody"`
	TextBody      string            `json:"TextBody"`
	ReplyTo       string            `json:"ReplyTo"`
	Headers       []Header          `json:"Headers"`
	Metadata      map[string]string `json:"Metadata"`
	Attachments   []Attachment      `json:"Attachments"`
	MessageStream string            `json:"MessageStream"`
	// The rest of the official client's Message, which Symphony does not send.
	TrackOpens bool   `json:"TrackOpens"`
	TrackLinks string `json:"TrackLinks"`
}

// Header is one custom header.
type Header struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// Attachment is one attachment; Content is base64.
type Attachment struct {
	Name          string  `json:"Name"`
	Content       string  `json:"Content"`
	ContentType   string  `json:"ContentType"`
	ContentID     string  `json:"ContentID"`
	ContentLength float64 `json:"ContentLength"`
	Disposition   string  `json:"Disposition"`
}

// Server is a running fake. Its embedded Recorder and Faults give
// Requests/RequestCount and Inject/PendingFaults.
type Server struct {
	fakehttp.Recorder
	fakehttp.Faults

	ts       *httptest.Server
	pace     *fakehttp.Limiter
	token    string
	inactive map[string]bool

	mu       sync.Mutex
	seq      int
	messages []Message
}

// New starts a fake. Close it when done.
func New(opts Options) *Server {
	s := &Server{token: opts.ServerToken, inactive: map[string]bool{}, pace: fakehttp.NewLimiter(opts.Pace)}
	if s.token == "" {
		s.token = DefaultServerToken
	}
	for _, a := range opts.InactiveRecipients {
		s.inactive[strings.ToLower(a)] = true
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

// Messages returns every accepted email, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

type apiError struct {
	ErrorCode int    `json:"ErrorCode"`
	Message   string `json:"Message"`
}

// ErrorFault answers the next request with status and a Postmark error body.
func ErrorFault(status, errorCode int, message string) fakehttp.Fault {
	b, _ := json.Marshal(apiError{ErrorCode: errorCode, Message: message})
	return fakehttp.Fault{Kind: fakehttp.KindStatus, Status: status, Body: string(b)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := s.Record(r)
	win, gone := s.pace.Gate(r)
	switch {
	case gone:
		return
	case win.Refused:
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
	status, answer := s.handle(req)
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
	fakehttp.WriteJSON(w, status, answer)
}

func (s *Server) handle(req fakehttp.Request) (int, any) {
	if (req.Path != "/email" && req.Path != "/email/batch") || req.Method != http.MethodPost {
		return http.StatusNotFound, apiError{Message: "Entity doesn't exist"}
	}
	if req.Header.Get("X-Postmark-Server-Token") != s.token {
		return http.StatusUnauthorized, apiError{ErrorCode: 10, Message: "Bad or missing Server API token."}
	}
	if !isJSON(req.Header.Get("Accept")) || !isJSON(req.Header.Get("Content-Type")) {
		return http.StatusUnsupportedMediaType, apiError{Message: "Unsupported Media Type"}
	}
	if req.Path == "/email/batch" {
		return s.handleBatch(req)
	}
	if len(req.Body) > maxPayload {
		return http.StatusRequestEntityTooLarge, apiError{Message: "Payload Too Large"}
	}
	return s.one(req.Body)
}

// one validates and accepts one message as POST /email does, answering
// with the status and body POST /email answers.
func (s *Server) one(body []byte) (int, any) {
	var m Message
	if err := fakehttp.DecodeStrict(body, &m); err != nil {
		if f, unknown := fakehttp.UnknownField(err); unknown {
			return http.StatusUnprocessableEntity, apiError{ErrorCode: 300, Message: "Invalid email request: unknown field " + strconv.Quote(f)}
		}
		return http.StatusUnprocessableEntity, apiError{ErrorCode: 402, Message: "Invalid JSON"}
	}
	recipients, msg := validate(&m, body)
	if msg != "" {
		return http.StatusUnprocessableEntity, apiError{ErrorCode: 300, Message: msg}
	}
	for _, a := range recipients {
		if s.inactive[strings.ToLower(a.Address)] {
			return http.StatusUnprocessableEntity, apiError{ErrorCode: 406, Message: "You tried to send to " +
				"recipient(s) that have been marked as inactive. Inactive recipients: " + a.Address}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.MessageID = fmt.Sprintf("00000000-0000-4000-9000-%012x", s.seq)
	s.messages = append(s.messages, m)
	return http.StatusOK, map[string]any{
		"To": m.To, "SubmittedAt": time.Now().Format("2006-01-02T15:04:05.0000000-07:00"),
		"MessageID": m.MessageID, "ErrorCode": 0, "Message": "OK",
	}
}

func isJSON(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}

func (s *Server) writeFault(w http.ResponseWriter, f fakehttp.Fault) {
	f.SetHeaders(w.Header())
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	body := apiError{Message: http.StatusText(f.Status)}
	switch f.Status {
	case http.StatusTooManyRequests:
		body = apiError{ErrorCode: 429, Message: "Rate Limit Exceeded"}
	case http.StatusServiceUnavailable:
		body = apiError{ErrorCode: 100, Message: "Maintenance"}
	}
	fakehttp.WriteJSON(w, f.Status, body)
}
