package httpx

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateSignal is what one provider answer says about the account's rate
// limit, read from the headers each provider documents:
//
//   - Resend: ratelimit-limit, ratelimit-remaining, ratelimit-reset (seconds
//     until the window resets; IETF draft names), retry-after on a 429.
//   - SendGrid: X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset
//     (the Unix time the window resets).
//   - Postmark states no limit: a 429 is all it says.
//   - Twilio limits the requests an account has in flight, not a rate: every
//     answer counts them (Twilio-Concurrent-Requests, the request answered
//     included), and a 429 (error 20429) means there were too many.
//
// A RateLimit-Policy header ("100;w=1", IETF draft) gives the window itself.
type RateSignal struct {
	// Limit is how many requests the window allows (0: not stated), Header
	// the header that stated it.
	Limit  int
	Header string
	// Window is the window's length when the answer states it (RateLimit-
	// Policy); otherwise 0, and the reader infers it from Reset.
	Window time.Duration
	// Remaining is how many requests the window has left (-1: not stated);
	// Reset is how long until it resets (-1: not stated).
	Remaining int
	Reset     time.Duration
	// Refused: the answer was 429. RetryAfter is its Retry-After (0: none).
	Refused    bool
	RetryAfter time.Duration
	// InFlight is the account's requests in flight the provider counted for
	// this one, itself included (Twilio-Concurrent-Requests; 0: not stated).
	InFlight int
}

// RateSignals is Config.RateSignals: told of every answer that says
// something about the rate limit, with the request's context (the worker
// finds there which queue sent it).
type RateSignals func(ctx context.Context, sig RateSignal)

// ReadRateSignal reads resp's rate-limit headers. ok is false when the
// answer says nothing about a limit.
func ReadRateSignal(resp *http.Response, now time.Time) (sig RateSignal, ok bool) {
	h := resp.Header
	sig = RateSignal{Remaining: -1, Reset: -1, Refused: resp.StatusCode == http.StatusTooManyRequests}
	if sig.Refused {
		sig.RetryAfter, _ = ParseRetryAfter(h.Get("Retry-After"), now)
	}
	switch {
	case h.Get("Ratelimit-Limit") != "":
		sig.Header = "ratelimit-limit"
		sig.Limit = whole(h.Get("Ratelimit-Limit"))
		sig.Remaining = wholeOr(h.Get("Ratelimit-Remaining"), -1)
		if d, ok := ParseDeltaSeconds(h.Get("Ratelimit-Reset")); ok {
			sig.Reset = d
		}
	case h.Get("X-Ratelimit-Limit") != "":
		sig.Header = "x-ratelimit-limit"
		sig.Limit = whole(h.Get("X-Ratelimit-Limit"))
		sig.Remaining = wholeOr(h.Get("X-Ratelimit-Remaining"), -1)
		if d, ok := ParseUnixReset(h.Get("X-Ratelimit-Reset"), now); ok {
			sig.Reset = d
		}
	}
	if sig.Limit > 0 {
		sig.Window = policyWindow(h.Get("Ratelimit-Policy"))
	} else {
		sig.Header = ""
	}
	sig.InFlight = InFlight(h)
	return sig, sig.Limit > 0 || sig.Refused || sig.InFlight > 0
}

// InFlight reads Twilio-Concurrent-Requests: the requests the account had
// in flight when the provider took this one, itself included (0: absent or
// not a positive whole number).
func InFlight(h http.Header) int { return max(0, wholeOr(h.Get("Twilio-Concurrent-Requests"), 0)) }

// policyWindow reads w=<seconds> from a RateLimit-Policy value; 0 if absent.
func policyWindow(v string) time.Duration {
	for _, part := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(k, "w") {
			if d, ok := ParseDeltaSeconds(val); ok && d > 0 {
				return d
			}
		}
	}
	return 0
}

func whole(v string) int { return wholeOr(v, 0) }

func wholeOr(v string, fallback int) int {
	// A list ("100, 100;w=1", older drafts) starts with the value in force.
	v, _, _ = strings.Cut(v, ",")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return fallback
	}
	return n
}
