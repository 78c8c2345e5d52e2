package twilio

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// message is the part of the Message resource (201 Created) a receipt keeps.
type message struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// apiError is Twilio's REST error body: {"code": 21211, "message": "...",
// "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// Twilio error codes that are not permanent.
const (
	// codeTooManyRequests: "Requests that receive 429 responses aren't
	// processed and are safe to retry after backing off."
	codeTooManyRequests = 20429
	// codeQueueFull: "This 'From' number has exceeded the maximum number of
	// queued messages" (more than 4 hours of sending queued); slow down.
	codeQueueFull = 21611
)

// classify is the one place an answer from POST Messages.json becomes a
// Receipt or a *provider.Error. It reads and closes resp.Body.
func classify(resp *http.Response, err error, now time.Time) (provider.Receipt, error) {
	if err != nil {
		// No answer. Unless the connection was never made, Twilio may have
		// created the message; there is no idempotency key to make a retry safe.
		return provider.Receipt{}, &provider.Error{Provider: Name, Message: "no response", Err: err,
			MaybeSent: !httpx.NotSent(err)}
	}
	body, readErr := httpx.ReadBody(resp)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// 201 Created with the Message resource; status is "queued" (From) or
		// "accepted" (Messaging Service). A 2xx with an unreadable body still
		// created the message; failing it would make the queue send it again.
		var m message
		if readErr != nil || json.Unmarshal(body, &m) != nil || m.SID == "" {
			return provider.Receipt{Provider: Name, Status: "accepted",
				Extra: map[string]any{"warning": "success response without a readable sid"}}, nil
		}
		return provider.Receipt{Provider: Name, MessageID: m.SID, Status: m.Status}, nil
	}

	var ae apiError
	_ = json.Unmarshal(body, &ae)
	pe := &provider.Error{Provider: Name, StatusCode: resp.StatusCode, Message: strings.TrimSpace(ae.Message)}
	if ae.Code != 0 {
		pe.Code = strconv.Itoa(ae.Code)
	}
	if pe.Message == "" {
		pe.Message = httpx.StatusText(resp.StatusCode)
	}
	retryAfter, _ := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests || ae.Code == codeTooManyRequests:
		// 429 / 20429: the account's concurrency limit; the request was not
		// processed. Twilio-Concurrent-Requests says how many were in flight.
		pe.RetryAfter = retryAfter
		pe.InFlight = httpx.InFlight(resp.Header)
	case ae.Code == codeQueueFull:
		// The sender's queue is full; the message was not created.
		pe.RetryAfter = retryAfter
	case resp.StatusCode >= 500:
		// "500 SERVER ERROR", "503 SERVICE UNAVAILABLE: ... Please wait for a
		// bit and try again." A 500 or a gateway error does not say the
		// message was not created.
		pe.RetryAfter = retryAfter
		pe.MaybeSent = httpx.MaybeProcessed(resp.StatusCode)
	default:
		// 400 with a code: 21211 invalid To, 21610 recipient replied STOP,
		// 21408 region not enabled in Geo Permissions, 21614 not a mobile
		// number, 21606/21612 sender cannot reach this recipient, 21658 body
		// too long; 401 (20003, authentication); 404 (wrong Account SID);
		// and 1xx/3xx, which Messages.json never answers (check
		// SYMPHONY_TWILIO_URL). The same request cannot succeed.
		pe.Permanent = true
	}
	return provider.Receipt{}, pe
}
