package postmark

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// answer is Postmark's body for POST /email: on success {To, SubmittedAt,
// MessageID, ErrorCode: 0, Message: "OK"}; on 401/422 {ErrorCode, Message}
// (postmarkapp.com/developer/api/email-api and /api/overview).
type answer struct {
	To          string `json:"To"`
	SubmittedAt string `json:"SubmittedAt"`
	MessageID   string `json:"MessageID"`
	ErrorCode   int    `json:"ErrorCode"`
	Message     string `json:"Message"`
}

// API error codes (Postmark "API error codes" table) that are not permanent.
const (
	codeMaintenance       = 100
	codeRateLimitExceeded = 429
)

// classify is the one place an answer from POST /email becomes a Receipt or a
// *provider.Error. It reads and closes resp.Body.
func classify(resp *http.Response, err error, now time.Time) (provider.Receipt, error) {
	if err != nil {
		// No answer. Unless the connection was never made, Postmark may have
		// accepted the email; there is no idempotency key to make a retry safe.
		return provider.Receipt{}, &provider.Error{Provider: Name, Message: "no response", Err: err,
			MaybeSent: !httpx.NotSent(err)}
	}
	body, readErr := httpx.ReadBody(resp)
	var a answer
	parsed := readErr == nil && json.Unmarshal(body, &a) == nil

	if resp.StatusCode >= 200 && resp.StatusCode < 300 && (!parsed || a.ErrorCode == 0) {
		// 200 "Success". A 2xx whose body cannot be read still means Postmark
		// accepted the email; failing it would make the queue send it again.
		if !parsed || a.MessageID == "" {
			return provider.Receipt{Provider: Name, Status: "submitted",
				Extra: map[string]any{"warning": "success response without a readable MessageID"}}, nil
		}
		r := provider.Receipt{Provider: Name, MessageID: a.MessageID, Status: "submitted"}
		if a.SubmittedAt != "" {
			r.Extra = map[string]any{"submitted_at": a.SubmittedAt}
		}
		return r, nil
	}

	pe := &provider.Error{Provider: Name, StatusCode: resp.StatusCode, Message: strings.TrimSpace(a.Message)}
	if a.ErrorCode != 0 {
		pe.Code = strconv.Itoa(a.ErrorCode)
	}
	if pe.Message == "" {
		pe.Message = httpx.StatusText(resp.StatusCode)
	}
	retryAfter, _ := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// "Rate Limit Exceeded": rejected, so nothing was sent. Postmark
		// documents no Retry-After, but one is honoured if present.
		pe.RetryAfter = retryAfter
	case resp.StatusCode >= 500:
		// 500 "an issue with Postmark's servers ... in most cases the message
		// is lost": transient, and "most cases" is not all, so MaybeSent.
		// 503 "planned service outages": nothing was accepted.
		pe.RetryAfter = retryAfter
		pe.MaybeSent = httpx.MaybeProcessed(resp.StatusCode)
	case a.ErrorCode == codeRateLimitExceeded || a.ErrorCode == codeMaintenance:
		// The two API error codes that say "later", whatever the status.
		pe.RetryAfter = retryAfter
	default:
		// 401 (ErrorCode 10, bad or missing token); 422 with an API error
		// code: 300 invalid email request, 400/401 sender signature not
		// found/confirmed, 402 invalid JSON, 403 invalid request fields, 405
		// not allowed to send (out of credits), 406 inactive recipient, 411
		// forbidden attachment type, 412/413 account pending or may not send;
		// 413 payload too large; 415 missing JSON Accept/Content-Type; 404;
		// and 1xx/3xx, which /email never answers (check
		// SYMPHONY_POSTMARK_URL). The same request cannot succeed.
		pe.Permanent = true
	}
	return provider.Receipt{}, pe
}
