package httpx

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxBody bounds how much of a provider response is read. Send endpoints
// answer with a few hundred bytes; anything near this is not a real answer.
const MaxBody = 1 << 20

// MaxRetryAfter caps any wait a provider asks for, so a bogus header cannot
// park a message for years. A day covers every documented quota window.
const MaxRetryAfter = 24 * time.Hour

// ReadBody reads at most MaxBody bytes of resp.Body and closes it. A read
// error is returned with whatever was read; callers decide what a truncated
// body means for the status they got.
func ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, MaxBody))
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, MaxBody))
	_ = body.Close()
}

// ParseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): a number of
// seconds, or an HTTP date, which is turned into the wait from now. A date in
// the past means no wait. ok is false when the value is absent or malformed.
func ParseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if d, ok := ParseDeltaSeconds(value); ok {
		return d, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return clamp(t.Sub(now)), true
}

// ParseDeltaSeconds parses a non-negative whole number of seconds, as in
// Retry-After or the IETF draft RateLimit-Reset header.
func ParseDeltaSeconds(value string) (time.Duration, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n > int64(MaxRetryAfter/time.Second) {
		return MaxRetryAfter, true
	}
	return time.Duration(n) * time.Second, true
}

// ParseUnixReset parses a rate-limit reset given as a Unix timestamp in
// seconds (SendGrid's X-RateLimit-Reset) into the wait from now.
func ParseUnixReset(value string, now time.Time) (time.Duration, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n > now.Add(MaxRetryAfter).Unix() {
		return MaxRetryAfter, true
	}
	return clamp(time.Unix(n, 0).Sub(now)), true
}

func clamp(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}

// JSON encodes a request body without escaping <, > and & (email HTML is full
// of them) and without the encoder's trailing newline.
func JSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// StatusText is http.StatusText, or "unexpected status" for codes it does not
// know, so a provider error always says something.
func StatusText(code int) string {
	if s := http.StatusText(code); s != "" {
		return s
	}
	return "unexpected status"
}
