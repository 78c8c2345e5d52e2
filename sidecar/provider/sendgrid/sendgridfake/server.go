package sendgridfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// DefaultAPIKey is the key the fake accepts when Options.APIKey is empty.
const DefaultAPIKey = "SG.fake-key"

// maxPayload is SendGrid's documented Mail Send limit (30 MB).
const maxPayload = 30 << 20

// Options configures a Server.
type Options struct {
	// APIKey is the only Bearer key accepted. Empty means DefaultAPIKey.
	APIKey string
	// Pace, when set, makes the fake enforce a rate limit (answering 429 as
	// the provider does) and answer after a fixed latency.
	Pace fakehttp.Pace
}

// Mail is one accepted request body, decoded.
type Mail struct {
	MessageID        string            `json:"-"` // the X-Message-Id answered
	Personalizations []Personalization `json:"personalizations"`
	From             *Address          `json:"from"`
	ReplyTo          *Address          `json:"reply_to"`
	ReplyToList      []Address         `json:"reply_to_list"`
	Subject          string            `json:"subject"`
	Content          []Content         `json:"content"`
	Attachments      []Attachment      `json:"attachments"`
	Headers          map[string]string `json:"headers"`
	Categories       []string          `json:"categories"`
	// CustomArgs is an object, as SendGrid's clients send it (the reference
	// types it a string: a known defect of its OpenAPI description).
	CustomArgs map[string]string `json:"custom_args"`
	// The rest of Mail Send's request, which Symphony does not send.
	TemplateID       string          `json:"template_id"`
	SendAt           int64           `json:"send_at"`
	BatchID          string          `json:"batch_id"`
	ASM              json.RawMessage `json:"asm"`
	IPPoolName       string          `json:"ip_pool_name"`
	MailSettings     json.RawMessage `json:"mail_settings"`
	TrackingSettings json.RawMessage `json:"tracking_settings"`
}

// Personalization is one entry of personalizations.
type Personalization struct {
	To      []Address `json:"to"`
	Cc      []Address `json:"cc"`
	Bcc     []Address `json:"bcc"`
	Subject string    `json:"subject"`
	// The rest of a personalization, which Symphony does not send.
	From                *Address          `json:"from"`
	Headers             map[string]string `json:"headers"`
	Substitutions       map[string]string `json:"substitutions"`
	DynamicTemplateData json.RawMessage   `json:"dynamic_template_data"`
	CustomArgs          map[string]string `json:"custom_args"`
	SendAt              int64             `json:"send_at"`
}

// Address is SendGrid's {email, name}.
type Address struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Content is one body part.
type Content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Attachment is one attachment; Content is base64.
type Attachment struct {
	Content     string `json:"content"`
	Filename    string `json:"filename"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
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

	mu    sync.Mutex
	seq   int
	mails []Mail
}

// New starts a fake. Close it when done.
func New(opts Options) *Server {
	s := &Server{apiKey: opts.APIKey, pace: fakehttp.NewLimiter(opts.Pace)}
	if s.apiKey == "" {
		s.apiKey = DefaultAPIKey
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

// Mails returns every accepted email, in order.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

type fieldError struct {
	Message string  `json:"message"`
	Field   *string `json:"field,omitempty"`
	Help    *string `json:"help,omitempty"`
}

type errorBody struct {
	Errors []fieldError `json:"errors"`
}

// errorsOf is one error about field. An error about no field names the
// field "null", a string, as SendGrid's Mail Send reference shows for 400,
// 401, 403, 404, 405 and 413.
func errorsOf(field, message string) errorBody {
	fe := fieldError{Message: message, Field: &field}
	if field == "" {
		fe.Field = new(string)
		*fe.Field = "null"
	} else {
		help := "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message." + field
		fe.Help = &help
	}
	return errorBody{Errors: []fieldError{fe}}
}

// ErrorFault answers the next request with status and one SendGrid error
// naming field (may be empty) and message.
func ErrorFault(status int, field, message string) fakehttp.Fault {
	b, _ := json.Marshal(errorsOf(field, message))
	return fakehttp.Fault{Kind: fakehttp.KindStatus, Status: status, Body: string(b)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := s.Record(r)
	win, gone := s.pace.Gate(r)
	switch {
	case gone:
		return
	}
	if s.pace.Limited() {
		// SendGrid states its limit on every answer, refusals included; the
		// reset is a Unix time, and a 429 carries no Retry-After.
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(win.Limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(win.Remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(win.Reset).Unix(), 10))
		if win.Refused {
			s.writeFault(w, fakehttp.Status(http.StatusTooManyRequests))
			return
		}
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

	status, answer, id := s.handle(req)
	if status != http.StatusAccepted {
		fakehttp.WriteJSON(w, status, answer)
		return
	}
	switch f.Kind {
	case fakehttp.KindResetAfterAccept:
		fakehttp.HangUp(w)
		return
	case fakehttp.KindMalformed:
		// Mail Send's success has no body to corrupt; the malformed answer
		// is a 202 that lost its X-Message-Id and carries junk.
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(fakehttp.MalformedBody))
		return
	}
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handle(req fakehttp.Request) (int, any, string) {
	if req.Path != "/v3/mail/send" {
		return http.StatusNotFound, errorsOf("", "resource not found"), ""
	}
	if req.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, errorsOf("", "method not allowed"), ""
	}
	if req.Header.Get("Authorization") != "Bearer "+s.apiKey {
		return http.StatusUnauthorized, errorsOf("", "The provided authorization grant is invalid, expired, or revoked"), ""
	}
	if len(req.Body) > maxPayload {
		return http.StatusRequestEntityTooLarge, errorsOf("", "The JSON payload you have included in your request is too large."), ""
	}
	var m Mail
	if err := fakehttp.DecodeStrict(req.Body, &m); err != nil {
		return http.StatusBadRequest, errorsOf(decodeField(err), "Bad Request: "+err.Error()), ""
	}
	if field, msg := validate(&m, req.Body); msg != "" {
		return http.StatusBadRequest, errorsOf(field, msg), ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.MessageID = fmt.Sprintf("fakeSG%016d", s.seq)
	s.mails = append(s.mails, m)
	return http.StatusAccepted, nil, m.MessageID
}

// decodeField names the field a decoding error is about ("" for bad JSON).
func decodeField(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return typ.Field
	}
	if f, ok := fakehttp.UnknownField(err); ok {
		return f
	}
	return ""
}

func (s *Server) writeFault(w http.ResponseWriter, f fakehttp.Fault) {
	if f.Status == http.StatusTooManyRequests && w.Header().Get("X-RateLimit-Limit") == "" {
		reset := time.Now().Add(time.Second)
		if n, err := strconv.Atoi(f.RetryAfter); err == nil {
			reset = time.Now().Add(time.Duration(n) * time.Second)
		}
		w.Header().Set("X-RateLimit-Limit", "600")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	}
	f.SetHeaders(w.Header())
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	msg := http.StatusText(f.Status)
	if f.Status == http.StatusTooManyRequests {
		msg = "too many requests"
	}
	body := errorsOf("", msg)
	if f.Status >= 500 {
		body.Errors[0].Field = nil // as the reference's 500: a message alone
	}
	fakehttp.WriteJSON(w, f.Status, body)
}
