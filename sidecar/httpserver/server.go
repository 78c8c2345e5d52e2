package httpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

// Server is one listener's HTTP server.
type Server struct {
	name    string // the listener, in metrics: api, dashboard or webhooks
	lim     Limits
	hs      *http.Server
	conns   *tracker
	active  Slots
	reading Slots // nil: handlers read their bodies
	met     *metrics.Metrics
}

// New returns a server for h under lim. name labels its metrics; met may be
// nil.
func New(name string, h http.Handler, lim Limits, log *slog.Logger, met *metrics.Metrics) *Server {
	s := &Server{name: name, lim: lim, active: NewSlots(lim.MaxActive), met: met}
	if lim.BodyReaders > 0 {
		s.reading = NewSlots(lim.BodyReaders)
	}
	s.conns = &tracker{max: max(lim.MaxConns, 1), conns: map[*conn]struct{}{}, changed: s.open, dropped: s.drop}
	s.hs = &http.Server{
		Handler:           s.guard(h),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(log.With("listener", name).Handler(), slog.LevelWarn),
	}
	return s
}

// Serve serves ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.hs.Serve(&limitListener{Listener: ln, t: s.conns})
}

// Shutdown stops accepting and waits for requests in flight, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.hs.Shutdown(ctx) }

// guard refuses bodies over the limit before reading any of them, reads the
// others first where the limits say so, and bounds the requests in handlers.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && s.lim.MaxBody >= 0 { // -1: a body of unknown length
			switch {
			case s.lim.MaxBody == 0:
				s.refuse(w, "body", http.StatusRequestEntityTooLarge, "no request body is accepted here")
				return
			case r.ContentLength > s.lim.MaxBody:
				s.refuse(w, "body", http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", s.lim.MaxBody))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.lim.MaxBody)
			if s.reading != nil && !s.readBody(w, r) {
				return
			}
		}
		if !s.active.TryTake() {
			s.busy(w)
			return
		}
		defer s.active.Give()
		if c, ok := r.Context().Value(connKey{}).(*conn); ok {
			c.setBusy(true)
			defer c.setBusy(false)
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads r's body into memory, taking one of the reading slots, and
// answers the request itself when it cannot.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) bool {
	if !s.reading.TryTake() {
		s.busy(w)
		return false
	}
	defer s.reading.Give()
	body, err := ReadBody(w, r, s.lim.MaxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(w, "body", http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", s.lim.MaxBody))
		} else {
			s.refuse(w, "body", http.StatusBadRequest, "the request body could not be read")
		}
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

func (s *Server) busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	s.refuse(w, "busy", http.StatusServiceUnavailable, "too many requests at once; retry shortly")
}

// refuse answers without reading the body, and closes the connection after
// the answer, so the server does not read the body either.
func (s *Server) refuse(w http.ResponseWriter, reason string, code int, msg string) {
	s.drop(reason)
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}

func (s *Server) open(n int) {
	if s.met != nil {
		s.met.HTTPConnections.WithLabelValues(s.name).Set(float64(n))
	}
}

func (s *Server) drop(reason string) {
	if s.met != nil {
		s.met.HTTPRefused.WithLabelValues(s.name, reason).Inc()
	}
}
