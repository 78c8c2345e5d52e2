package sendgrid

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// apiErrors is SendGrid's error body: {"errors": [{"message", "field",
// "help"}]} (SendGrid v3 API "Errors" and Mail Send "Errors" pages).
type apiErrors struct {
	Errors []struct {
		Message string  `json:"message"`
		Field   *string `json:"field"`
		Help    any     `json:"help"`
	} `json:"errors"`
}

// classify is the one place an answer from POST /v3/mail/send becomes a
// Receipt or a *provider.Error. It reads and closes resp.Body.
func classify(resp *http.Response, err error, now time.Time) (provider.Receipt, error) {
	if err != nil {
		// No answer. Unless the connection was never made, SendGrid may have
		// queued the email; there is no idempotency key to make a retry safe.
		return provider.Receipt{}, &provider.Error{Provider: Name, Message: "no response", Err: err,
			MaybeSent: !httpx.NotSent(err)}
	}
	body, _ := httpx.ReadBody(resp)

	switch {
	case resp.StatusCode == http.StatusAccepted:
		// "202 ACCEPTED: Your message is both valid, and queued to be
		// delivered." The body is empty; the id is the X-Message-Id header.
		id := resp.Header.Get("X-Message-Id")
		if id == "" {
			return provider.Receipt{Provider: Name, Status: "queued",
				Extra: map[string]any{"warning": "202 without X-Message-Id"}}, nil
		}
		return provider.Receipt{Provider: Name, MessageID: id, Status: "queued"}, nil
	case resp.StatusCode == http.StatusOK:
		// "200 OK: Your message is valid, but it is not queued to be
		// delivered" (sandbox mode only). Calling that a success would lose
		// the email without a trace; we never enable sandbox mode.
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, StatusCode: 200,
			Code: "sandbox_mode", Message: "SendGrid validated the email but did not queue it (sandbox mode)"}
	case resp.StatusCode > 200 && resp.StatusCode < 300:
		// Not documented for Mail Send, but a 2xx is an acceptance; failing it
		// would make the queue send the email again.
		return provider.Receipt{Provider: Name, MessageID: resp.Header.Get("X-Message-Id"), Status: "queued",
			Extra: map[string]any{"warning": "unexpected success status " + resp.Status}}, nil
	}

	pe := &provider.Error{Provider: Name, StatusCode: resp.StatusCode}
	var ae apiErrors
	if json.Unmarshal(body, &ae) == nil && len(ae.Errors) > 0 {
		// SendGrid has no error codes; Code carries the field the first error
		// names (e.g. "from.email"), which is what tells a person what to fix.
		// An error about no field says "field": "null" (a string, as in the
		// Mail Send reference), null, or nothing: no code.
		if f := ae.Errors[0].Field; f != nil && *f != "null" {
			pe.Code = *f
		}
		msgs := make([]string, 0, len(ae.Errors))
		for _, e := range ae.Errors {
			msgs = append(msgs, strings.TrimSpace(e.Message))
		}
		pe.Message = strings.Join(msgs, "; ")
	}
	if pe.Message == "" {
		pe.Message = httpx.StatusText(resp.StatusCode)
	}

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// "The number of requests you have made exceeds SendGrid's rate
		// limitations"; X-RateLimit-Reset is the Unix time the window resets.
		// Rejected, so nothing was sent.
		if d, ok := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			pe.RetryAfter = d
		} else {
			pe.RetryAfter, _ = httpx.ParseUnixReset(resp.Header.Get("X-RateLimit-Reset"), now)
		}
	case resp.StatusCode >= 500:
		// "500: An error occurred on a SendGrid server", "503: The SendGrid v3
		// Web API is not available." Transient; a 500 or a gateway error does
		// not say the email was not queued.
		pe.RetryAfter, _ = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		pe.MaybeSent = httpx.MaybeProcessed(resp.StatusCode)
	default:
		// 400 invalid request (the errors name the field), 401 bad key or
		// "Maximum credits exceeded", 403 sender identity not verified or a
		// temporary block for repeated bad requests, 404, 405, 406, 413
		// payload too large, 415; and 1xx/3xx, which Mail Send never answers
		// (check SYMPHONY_SENDGRID_URL). The same request cannot succeed.
		pe.Permanent = true
	}
	return provider.Receipt{}, pe
}
