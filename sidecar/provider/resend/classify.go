package resend

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// dailyQuotaWait is how long a message waits after daily_quota_exceeded when
// Resend names no wait. Resend documents "wait until 24 hours have passed" but
// not when the day started, so we probe hourly rather than park a day.
const dailyQuotaWait = time.Hour

// apiError is Resend's error body: {"statusCode": 422, "name": "...",
// "message": "..."} (resend.com/docs/api-reference/errors).
type apiError struct {
	StatusCode int    `json:"statusCode"`
	Name       string `json:"name"`
	Message    string `json:"message"`
}

// classify is the one place an answer from POST /emails becomes a Receipt or
// a *provider.Error. It reads and closes resp.Body.
func classify(resp *http.Response, err error, now time.Time) (provider.Receipt, error) {
	if err != nil {
		// No answer: refused, reset, timed out, or our context ended. The
		// idempotency key makes a retry safe within Resend's 24-hour window,
		// so this is transient and never MaybeSent.
		return provider.Receipt{}, &provider.Error{Provider: Name, Message: "no response", Err: err}
	}
	body, readErr := httpx.ReadBody(resp)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Documented success: 200 {"id": "..."}. A 2xx means Resend accepted
		// the email even if the body is unreadable; failing it would make the
		// queue send again (harmless under the key, but it would report a
		// sent email as failed), so it is a receipt without an id.
		var ok struct {
			ID string `json:"id"`
		}
		if readErr != nil || json.Unmarshal(body, &ok) != nil || ok.ID == "" {
			return provider.Receipt{Provider: Name, Status: "accepted",
				Extra: map[string]any{"warning": "success response without a readable id"}}, nil
		}
		return provider.Receipt{Provider: Name, MessageID: ok.ID, Status: "accepted"}, nil
	}

	var ae apiError
	_ = json.Unmarshal(body, &ae) // a non-JSON body leaves Name and Message empty
	pe := &provider.Error{Provider: Name, StatusCode: resp.StatusCode, Code: ae.Name, Message: ae.Message}
	if pe.Message == "" {
		pe.Message = httpx.StatusText(resp.StatusCode)
	}
	retryAfter, hasRetryAfter := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// 429 names: rate_limit_exceeded (requests per second; Resend sends
		// retry-after and ratelimit-reset, "seconds until the limits are
		// reset"), daily_quota_exceeded ("wait until 24 hours have passed")
		// and monthly_quota_exceeded.
		switch ae.Name {
		case "monthly_quota_exceeded":
			// Only a plan change or the next billing month helps; retrying
			// within the queue's attempts cannot, so the message goes to dead
			// with the reason and can be replayed after an upgrade.
			pe.Permanent = true
		case "daily_quota_exceeded":
			pe.RetryAfter = dailyQuotaWait
			if hasRetryAfter && retryAfter > 0 {
				pe.RetryAfter = retryAfter
			}
		default:
			pe.RetryAfter = retryAfter
			if !hasRetryAfter {
				pe.RetryAfter, _ = httpx.ParseDeltaSeconds(resp.Header.Get("Ratelimit-Reset"))
			}
		}
	case resp.StatusCode == http.StatusConflict:
		// concurrent_idempotent_requests: "the original request is still in
		// progress ... safe to retry this request later". Any other 409 name
		// (invalid_idempotent_request: same key, different payload) cannot
		// succeed on retry.
		pe.Permanent = ae.Name != "concurrent_idempotent_requests"
		pe.RetryAfter = retryAfter
	case resp.StatusCode >= 500:
		// application_error / internal_server_error, or a gateway in front.
		// Transient; the key makes a retry safe, so not MaybeSent.
		pe.RetryAfter = retryAfter
	default:
		// 400 validation_error / invalid_idempotency_key, 401 missing or
		// invalid key, 403 invalid_api_key / unverified domain / testing-only
		// sender, 404, 405, 422 missing_required_field / invalid_attachment /
		// invalid_from_address, 451 security_error; and any 1xx/3xx, which
		// a send endpoint never legitimately answers (check
		// SYMPHONY_RESEND_URL). Retrying the same request cannot help.
		pe.Permanent = true
	}
	pe.Message = strings.TrimSpace(pe.Message)
	return provider.Receipt{}, pe
}
