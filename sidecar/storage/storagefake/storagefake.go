// Package storagefake is an in-process fake of the two Supabase Storage calls
// the sidecar makes: POST /storage/v1/object/sign/{bucket}/{path} (Bearer
// service key; answers {"signedURL": "/object/sign/…?token=…"}, or Storage's
// error body {"statusCode", "error", "message"}) and GET of the signed URL
// (the bytes, with Content-Type and Content-Length).
package storagefake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type object struct {
	contentType string
	data        []byte
}

// Server is a running fake.
type Server struct {
	ts   *httptest.Server
	key  string
	mu   sync.Mutex
	objs map[string]object
	toks map[string]string // token → bucket/path
	sign int
	fail int           // status for the next sign call, 0 for none
	wait time.Duration // delay before answering a sign call
	hang bool          // sign calls never answer
	done chan struct{} // closed by Close: hung calls return
	open atomic.Int64  // client connections open now
}

// New starts a fake that accepts key as the service-role key.
func New(key string) *Server {
	s := &Server{key: key, objs: map[string]object{}, toks: map[string]string{}, done: make(chan struct{})}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	s.ts.Start()
	return s
}

// URL is the project URL (SUPABASE_URL).
func (s *Server) URL() string { return s.ts.URL }

// Close stops the fake.
func (s *Server) Close() {
	close(s.done)
	s.ts.Close()
}

// OpenConns is how many client connections are open now.
func (s *Server) OpenConns() int64 { return s.open.Load() }

// Hang makes sign calls never answer, as a Storage that accepted the
// connection and then stalled: each waits until its client goes away.
func (s *Server) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = true
}

// Put stores an object.
func (s *Server) Put(bucket, path, contentType string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[bucket+"/"+path] = object{contentType, data}
}

// Signed is how many URLs were signed.
func (s *Server) Signed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sign
}

// FailNext answers the next sign call with status.
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = status
}

// Delay makes sign calls wait d before answering.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wait = d
}

func storageError(w http.ResponseWriter, status int, code, errName, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"statusCode": code, "error": errName, "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/storage/v1/object/sign/")
	if !ok {
		storageError(w, http.StatusNotFound, "404", "not_found", "Route not found")
		return
	}
	s.mu.Lock()
	wait, hang := s.wait, s.hang
	s.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		if hang {
			// Read the request first, as Storage would: only then does the
			// server notice the client going away.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
			return
		}
		time.Sleep(wait)
		if r.Header.Get("Authorization") != "Bearer "+s.key {
			storageError(w, http.StatusBadRequest, "403", "Unauthorized", "invalid signature")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail != 0 {
			st := s.fail
			s.fail = 0
			storageError(w, st, fmt.Sprint(st), "internal", "Internal Server Error")
			return
		}
		if _, found := s.objs[rest]; !found {
			storageError(w, http.StatusBadRequest, "404", "not_found", "Object not found")
			return
		}
		s.sign++
		tok := fmt.Sprintf("tok-%d", s.sign)
		s.toks[tok] = rest
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"signedURL": "/object/sign/" + rest + "?token=" + tok})
	case http.MethodGet:
		s.mu.Lock()
		key, valid := s.toks[r.URL.Query().Get("token")]
		o, found := s.objs[rest]
		s.mu.Unlock()
		if !valid || key != rest {
			storageError(w, http.StatusBadRequest, "400", "InvalidSignature", "The signature is invalid")
			return
		}
		if !found {
			storageError(w, http.StatusBadRequest, "404", "not_found", "Object not found")
			return
		}
		if o.contentType != "" {
			w.Header().Set("Content-Type", o.contentType)
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(o.data)))
		_, _ = w.Write(o.data)
	default:
		storageError(w, http.StatusMethodNotAllowed, "405", "method_not_allowed", "Method not allowed")
	}
}
