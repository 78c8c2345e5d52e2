package fakehttp

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxRequestBody bounds what a fake reads of one request.
const maxRequestBody = 64 << 20

// Request is one request as a fake received it.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time // when it arrived
}

// Recorder keeps every request a fake received, in arrival order. Safe for
// concurrent use.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// Record reads r's body and stores the request. The body is returned in the
// Request; r.Body is consumed.
func (rec *Recorder) Record(r *http.Request) Request {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.reqs = append(rec.reqs, req)
	return req
}

// Requests returns a copy of every request received so far.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Request(nil), rec.reqs...)
}

// RequestCount is how many requests were received so far.
func (rec *Recorder) RequestCount() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

// WriteJSON answers with status and v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// MalformedBody is what a Malformed fault answers with: the start of a JSON
// object, cut off.
const MalformedBody = `{"id": "`
