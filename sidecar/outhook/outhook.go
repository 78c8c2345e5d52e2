package outhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// Target is where a kind's messages go.
type Target struct {
	// Name labels results and errors: "edge_function" or "webhook".
	Name string
	// URL receives a POST per attempt.
	URL string
	// BearerToken, when set, is sent as Authorization: Bearer (the service-role
	// key for Edge Functions). A secret: never logged or stored.
	BearerToken string
	// SigningSecret, when set, signs each body: X-Symphony-Signature:
	// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
	SigningSecret string
}

// Message is the JSON body every target receives.
type Message struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Subject     *string         `json:"subject,omitempty"`
	Payload     json.RawMessage `json:"payload"`
	Meta        json.RawMessage `json:"meta,omitempty"`
}

// Client posts messages to targets over one HTTP client.
type Client struct {
	http *http.Client
	now  func() time.Time
}

// New returns a Client over hc (from httpx.New).
func New(hc *http.Client) *Client {
	return &Client{http: hc, now: time.Now}
}

// maxResult bounds how much of a response body is kept as the result.
const maxResult = 64 << 10

// Deliver posts m to t and classifies the answer.
func (c *Client) Deliver(ctx context.Context, t Target, s provider.Send, m Message) (provider.Receipt, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return provider.Receipt{}, provider.Permanent(fmt.Errorf("error encoding message %d: %w", m.ID, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return provider.Receipt{}, provider.Permanent(fmt.Errorf("%s: bad URL: %w", t.Name, httpx.RedactedError(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// The receiver deduplicates with these: the same on every attempt.
	req.Header.Set("Idempotency-Key", s.IdempotencyKey())
	req.Header.Set("X-Symphony-Message-Id", strconv.FormatInt(m.ID, 10))
	req.Header.Set("X-Symphony-Attempt", strconv.Itoa(m.Attempt))
	if t.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+t.BearerToken)
	}
	if t.SigningSecret != "" {
		req.Header.Set("X-Symphony-Signature", Sign(t.SigningSecret, c.now(), body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Go's error quotes the whole URL; its path or query may be the
		// receiver's token. Errors end up in last_error and on /status.
		return provider.Receipt{}, &provider.Error{Provider: t.Name, Err: httpx.RedactedError(err),
			MaybeSent: !httpx.NotSent(err), Message: "request failed"}
	}
	r, err := classify(t.Name, resp)
	if e, ok := err.(*provider.Error); ok {
		e.Message = scrubTarget(e.Message, req.URL)
	}
	return r, err
}

// scrubTarget removes from a receiver's answer the parts of its URL that may
// be a token: a receiver that answers 404 often quotes the path it was asked
// for. Whole URLs are cut to their host (httpx.RedactURLs); then the request
// URI, the path, the query and each query value, and each path segment long
// enough to be a token, are replaced.
func scrubTarget(s string, u *url.URL) string {
	s = httpx.RedactURLs(s)
	parts := []string{u.RequestURI(), u.EscapedPath(), u.Path, u.RawQuery}
	for _, vs := range u.Query() {
		parts = append(parts, vs...)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 8 {
			parts = append(parts, seg)
		}
	}
	for _, p := range parts {
		if len(p) >= 4 && p != "/" {
			s = strings.ReplaceAll(s, p, "…")
		}
	}
	return s
}

// classify is the one place a target's answer becomes success or a classified
// error. Supabase documents these Edge Function answers: 401 (JWT rejected),
// 404 (not deployed), 405; 500 WORKER_ERROR (the function threw), 503
// BOOT_ERROR (it never started), 504 IDLE_TIMEOUT, 546 WORKER_RESOURCE_LIMIT,
// with the reason in the sb-error-code header.
func classify(name string, resp *http.Response) (provider.Receipt, error) {
	b, _ := httpx.ReadBody(resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r := provider.Receipt{Provider: name, Status: strconv.Itoa(resp.StatusCode)}
		if len(b) <= maxResult && len(bytes.TrimSpace(b)) > 0 && json.Valid(b) {
			r.Extra = map[string]any{"response": json.RawMessage(b)}
		}
		return r, nil
	}
	e := &provider.Error{Provider: name, StatusCode: resp.StatusCode, Code: resp.Header.Get("sb-error-code"),
		Message: strings.TrimSpace(string(clip(b, 500)))}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		e.RetryAfter, _ = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		// A 503 (BOOT_ERROR) never ran the function; other 5xx may have run part
		// or all of it (it threw, timed out, ran out of resources), so the
		// receiver must deduplicate by Idempotency-Key.
		e.MaybeSent = httpx.MaybeProcessed(resp.StatusCode)
	default:
		e.Permanent = true
	}
	return provider.Receipt{}, e
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// Sign returns the X-Symphony-Signature value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks an X-Symphony-Signature header, for receivers written in Go
// (and as the reference for others): the HMAC must match and t must be within
// tolerance of now.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("webhook: malformed X-Symphony-Signature")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: signature timestamp outside tolerance")
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errors.New("webhook: signature mismatch")
	}
	return nil
}
