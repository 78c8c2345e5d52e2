package postmark

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// Batch limits of POST /email/batch: up to 500 messages and 50 MB of
// payload per request, attachments included.
const (
	MaxBatch        = 500
	MaxBatchPayload = 50 << 20
)

var _ provider.BatchEmailSender = (*Client)(nil)

// MaxBatch returns MaxBatch.
func (c *Client) MaxBatch() int { return MaxBatch }

// Batchable is true: the batch endpoint takes every message POST /email takes.
func (c *Client) Batchable(*provider.Email) bool { return true }

// SendEmailBatch sends emails as one POST /email/batch. Postmark takes no
// idempotency key: an answer lost after the request was written leaves every
// member MaybeSent, as a single send would.
func (c *Client) SendEmailBatch(ctx context.Context, _ provider.Batch, emails []*provider.Email) ([]provider.BatchResult, error) {
	if len(emails) == 0 || len(emails) > MaxBatch {
		return nil, &provider.Error{Provider: Name, Permanent: true, Message: "a batch takes 1 to 500 messages"}
	}
	reqs := make([]emailRequest, len(emails))
	for i, e := range emails {
		reqs[i] = newEmailRequest(e, c.stream)
	}
	body, err := httpx.JSON(reqs)
	if err != nil {
		return nil, &provider.Error{Provider: Name, Permanent: true, Message: "encoding request", Err: err}
	}
	if len(body) > MaxBatchPayload {
		return nil, &provider.Error{Provider: Name, Permanent: true, Message: "batch payload over 50 MB"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/batch", bytes.NewReader(body))
	if err != nil {
		return nil, &provider.Error{Provider: Name, Permanent: true, Message: "building request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Postmark-Server-Token", c.token)
	resp, err := c.http.Do(req)
	return classifyBatch(resp, err, len(emails), time.Now())
}

// classifyBatch turns an answer from POST /email/batch into per-message
// results. Postmark answers 200 with one result per message in request order,
// each {ErrorCode, Message, MessageID, SubmittedAt, To}; ErrorCode 0 is sent.
// Any other status fails the whole request as classify reads it.
func classifyBatch(resp *http.Response, err error, n int, now time.Time) ([]provider.BatchResult, error) {
	if err != nil || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		_, cerr := classify(resp, err, now)
		return nil, cerr
	}
	body, readErr := httpx.ReadBody(resp)
	var answers []answer
	out := make([]provider.BatchResult, n)
	if readErr != nil || json.Unmarshal(body, &answers) != nil || len(answers) != n {
		// Accepted, but which message got what cannot be read: each is taken
		// as submitted rather than sent again.
		for i := range out {
			out[i].Receipt = provider.Receipt{Provider: Name, Status: "submitted",
				Extra: map[string]any{"warning": "batch success response without readable per-message results"}}
		}
		return out, nil
	}
	for i, a := range answers {
		if a.ErrorCode == 0 {
			r := provider.Receipt{Provider: Name, MessageID: a.MessageID, Status: "submitted"}
			if a.SubmittedAt != "" {
				r.Extra = map[string]any{"submitted_at": a.SubmittedAt}
			}
			out[i].Receipt = r
			continue
		}
		pe := &provider.Error{Provider: Name, StatusCode: resp.StatusCode, Code: strconv.Itoa(a.ErrorCode),
			Message: strings.TrimSpace(a.Message)}
		// Per-message codes are the API error codes POST /email answers with
		// 422; only rate limiting and maintenance say "later".
		pe.Permanent = a.ErrorCode != codeRateLimitExceeded && a.ErrorCode != codeMaintenance
		out[i].Err = pe
	}
	return out, nil
}
