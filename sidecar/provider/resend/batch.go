package resend

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// MaxBatch is the most emails POST /emails/batch takes in one request.
const MaxBatch = 100

var _ provider.BatchEmailSender = (*Client)(nil)

// MaxBatch returns MaxBatch.
func (c *Client) MaxBatch() int { return MaxBatch }

// Batchable reports whether e may go through POST /emails/batch, which
// documents no attachments (and no scheduled_at, which Symphony never sends).
func (c *Client) Batchable(e *provider.Email) bool { return len(e.Attachments) == 0 }

// batchError is one entry of a permissive batch answer's errors array.
type batchError struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

// SendEmailBatch sends emails as one POST /emails/batch under the batch's
// Idempotency-Key, in permissive validation mode (x-batch-validation:
// permissive): valid emails are sent and each invalid one comes back in
// errors by its index, so one bad email never holds back the others.
func (c *Client) SendEmailBatch(ctx context.Context, b provider.Batch, emails []*provider.Email) ([]provider.BatchResult, error) {
	if len(emails) == 0 || len(emails) > MaxBatch {
		return nil, &provider.Error{Provider: Name, Permanent: true,
			Message: "a batch takes 1 to 100 emails"}
	}
	reqs := make([]emailRequest, len(emails))
	for i, e := range emails {
		if !c.Batchable(e) {
			return nil, &provider.Error{Provider: Name, Permanent: true,
				Message: "attachments are not supported by POST /emails/batch"}
		}
		reqs[i] = newEmailRequest(e)
	}
	body, err := httpx.JSON(reqs)
	if err != nil {
		return nil, &provider.Error{Provider: Name, Permanent: true, Message: "encoding request", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx = httpx.WithReplaySafe(ctx) // the batch's key makes a repeat answer the original
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/batch", bytes.NewReader(body))
	if err != nil {
		return nil, &provider.Error{Provider: Name, Permanent: true, Message: "building request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", b.IdempotencyKey())
	req.Header.Set("X-Batch-Validation", "permissive")
	resp, err := c.http.Do(req)
	return classifyBatch(resp, err, len(emails), time.Now())
}

// classifyBatch turns an answer from POST /emails/batch into per-email
// results. A non-2xx answer is classified as classify does for a single
// send and applies to the whole batch. A 2xx answer is {"data": [{"id"}...],
// "errors": [{"index", "message"}...]}: data lists the accepted emails in
// request order, skipping the indexes in errors.
func classifyBatch(resp *http.Response, err error, n int, now time.Time) ([]provider.BatchResult, error) {
	if err != nil || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		_, cerr := classify(resp, err, now)
		return nil, cerr
	}
	body, readErr := httpx.ReadBody(resp)
	var ans struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Errors []batchError `json:"errors"`
	}
	out := make([]provider.BatchResult, n)
	if readErr != nil || json.Unmarshal(body, &ans) != nil {
		// Accepted, but we cannot tell which id is whose. Nothing was
		// refused by index that we can see: every email is accepted
		// without an id rather than sent again.
		for i := range out {
			out[i].Receipt = provider.Receipt{Provider: Name, Status: "accepted",
				Extra: map[string]any{"warning": "batch success response without readable ids"}}
		}
		return out, nil
	}
	failed := make([]string, n)
	bad := make([]bool, n)
	for _, e := range ans.Errors {
		if e.Index >= 0 && e.Index < n {
			bad[e.Index] = true
			failed[e.Index] = strings.TrimSpace(e.Message)
		}
	}
	j := 0
	for i := range out {
		if bad[i] {
			msg := failed[i]
			if msg == "" {
				msg = "refused by batch validation"
			}
			// Permissive mode lists validation failures only: the same email
			// cannot pass on a retry.
			out[i].Err = &provider.Error{Provider: Name, Permanent: true, StatusCode: resp.StatusCode,
				Code: "batch_validation_error", Message: msg}
			continue
		}
		r := provider.Receipt{Provider: Name, Status: "accepted"}
		if j < len(ans.Data) && ans.Data[j].ID != "" {
			r.MessageID = ans.Data[j].ID
		} else {
			r.Extra = map[string]any{"warning": "batch success response without this email's id"}
		}
		j++
		out[i].Receipt = r
	}
	return out, nil
}
