package postmarkfake

import (
	"encoding/json"
	"net/http"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// Batch limits Postmark documents for POST /email/batch: up to 500 messages
// and 50 MB of payload, attachments included.
const (
	MaxBatch        = 500
	maxBatchPayload = 50 << 20
)

// handleBatch answers POST /email/batch: a JSON array of messages, each
// checked as POST /email checks one. The answer is 200 with one result per
// message, in request order, even when some (or all) failed: {ErrorCode: 0,
// Message: "OK", MessageID, SubmittedAt, To} for a sent one, {ErrorCode,
// Message} for a refused one.
func (s *Server) handleBatch(req fakehttp.Request) (int, any) {
	if len(req.Body) > maxBatchPayload {
		return http.StatusRequestEntityTooLarge, apiError{Message: "Payload Too Large"}
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(req.Body, &raw); err != nil {
		return http.StatusUnprocessableEntity, apiError{ErrorCode: 402, Message: "Invalid JSON"}
	}
	if len(raw) > MaxBatch {
		return http.StatusUnprocessableEntity, apiError{ErrorCode: 300,
			Message: "Invalid email request: a batch may contain at most 500 messages."}
	}
	out := make([]any, len(raw))
	for i, m := range raw {
		_, out[i] = s.one(m)
	}
	return http.StatusOK, out
}
