package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

type replaySafeKey struct{}

// WithReplaySafe marks requests made with ctx as safe to repeat after an
// unknown outcome, because they carry an idempotency key the server honours
// (a repeat returns the original result instead of acting twice). Only then
// does the policy retry a timeout, a reset or a 5xx in-process.
func WithReplaySafe(ctx context.Context) context.Context {
	return context.WithValue(ctx, replaySafeKey{}, true)
}

// ReplaySafe reports whether ctx was marked with WithReplaySafe.
func ReplaySafe(ctx context.Context) bool {
	v, _ := ctx.Value(replaySafeKey{}).(bool)
	return v
}

// NotSent reports whether err proves the request never reached the server:
// the connection could not be made (DNS failure, connection refused, dial
// timeout). Any other transport error leaves the outcome unknown.
func NotSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// MaybeProcessed reports whether a response with this status leaves open that
// the server acted on the request before failing. 503 Service Unavailable says
// the server could not handle the request at all (RFC 9110 §15.6.4); other 5xx,
// and gateway timeouts in particular, promise nothing.
func MaybeProcessed(status int) bool {
	return status >= 500 && status != http.StatusServiceUnavailable
}

// policy is Symphony's CheckRetry; see the package documentation.
type policy struct {
	waitMax time.Duration
}

func (p policy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		// Never drop an answer that did arrive just as the deadline passed:
		// a 2xx means the message was accepted.
		if err == nil {
			return false, nil
		}
		return false, ctx.Err()
	}
	// A retry needs time for a wait and another round trip; if the send's
	// deadline does not leave that, hand the failure back now.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*p.waitMax {
		return false, nil
	}
	if err != nil {
		if permanentTransport(err) {
			return false, nil
		}
		return NotSent(err) || ReplaySafe(ctx), nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return false, nil // rate limits are the queue's business, with RetryAfter
	case resp.Header.Get("Retry-After") != "":
		return false, nil // the server named a wait; the queue honours it
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return ReplaySafe(ctx), nil
	}
	return false, nil
}

// permanentTransport reports transport errors that repeating cannot fix: the
// server's certificate is not trusted.
func permanentTransport(err error) bool {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}

// backoff waits min·2^attempt, capped at max, with ±25% jitter so sidecars
// that failed together do not retry together.
func backoff(min, max time.Duration, attempt int, _ *http.Response) time.Duration {
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return d + jitter
}
