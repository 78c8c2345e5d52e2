package fakehttp

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Kind is what a Fault does to the request it is applied to.
type Kind int

const (
	// KindNone answers normally (after Delay, if any).
	KindNone Kind = iota
	// KindStatus answers with Status and the provider's error body, without
	// acting on the request.
	KindStatus
	// KindReset drops the connection before acting on the request.
	KindReset
	// KindResetAfterAccept accepts the message, then drops the connection
	// without answering: the lost-response case.
	KindResetAfterAccept
	// KindMalformed accepts the message, then answers with the success status
	// and a body that is not valid JSON.
	KindMalformed
)

// Fault is one injected failure. The zero Fault is "no fault".
type Fault struct {
	Kind Kind
	// Status is the HTTP status for KindStatus.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header (KindStatus).
	RetryAfter string
	// Header holds extra response headers (KindStatus), e.g. rate-limit ones.
	Header http.Header
	// Body, when set, replaces the provider-shaped error body (KindStatus).
	Body string
	// Delay is waited before anything else happens, for any Kind.
	Delay time.Duration
}

// Status answers the next request with code and the provider's error body.
func Status(code int) Fault { return Fault{Kind: KindStatus, Status: code} }

// RateLimited answers 429 with Retry-After set to retryAfter (seconds or an
// HTTP date); an empty retryAfter sends no Retry-After header.
func RateLimited(retryAfter string) Fault {
	return Fault{Kind: KindStatus, Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// RateLimitedFor is RateLimited with a whole number of seconds.
func RateLimitedFor(d time.Duration) Fault {
	return RateLimited(strconv.Itoa(int(d / time.Second)))
}

// Slow delays the next answer by d, then answers normally.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// Reset drops the next connection before the request is acted on.
func Reset() Fault { return Fault{Kind: KindReset} }

// ResetAfterAccept accepts the next message, then drops the connection.
func ResetAfterAccept() Fault { return Fault{Kind: KindResetAfterAccept} }

// Malformed accepts the next message and answers with a broken body.
func Malformed() Fault { return Fault{Kind: KindMalformed} }

// Times returns n copies of f, for Inject.
func Times(n int, f Fault) []Fault {
	fs := make([]Fault, n)
	for i := range fs {
		fs[i] = f
	}
	return fs
}

// Faults is a FIFO of faults, one consumed per request. Safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	queue  []Fault
	random *random // SetRandom
}

// Inject queues faults for the next requests, in order.
func (f *Faults) Inject(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fs...)
}

// ClearFaults drops the queued faults that have not been used yet (the
// provider recovers) and returns how many there were.
func (f *Faults) ClearFaults() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.queue)
	f.queue = nil
	return n
}

// PendingFaults is how many queued faults have not been used yet.
func (f *Faults) PendingFaults() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue)
}

// NextFault takes the next fault; when none is queued, a random one (see
// SetRandom) or the zero Fault.
func (f *Faults) NextFault() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) == 0 {
		return f.draw()
	}
	next := f.queue[0]
	f.queue = f.queue[1:]
	return next
}

// Wait sleeps for d, returning false if ctx ends first (the client gave up).
func Wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// HangUp drops the connection under w without writing a response. On TCP it
// resets the connection (linger 0), which the client sees as a reset or EOF.
func HangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fakehttp: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// SetHeaders copies f's Retry-After and extra headers onto h, replacing any
// the fake set already.
func (f Fault) SetHeaders(h http.Header) {
	for k, vs := range f.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
}
