package resendfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// MaxBatch is the most emails POST /emails/batch takes.
const MaxBatch = 100

type batchError struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

type batchAnswer struct {
	Data   []map[string]string `json:"data"`
	Errors []batchError        `json:"errors,omitempty"`
}

// acceptBatch answers POST /emails/batch as Resend documents it: a JSON
// array of 1 to 100 SendEmailRequest objects without attachments or
// scheduled_at. In strict mode (no x-batch-validation header, or "strict")
// one invalid email refuses the whole batch with that email's error; in
// permissive mode the valid ones are sent and the invalid ones come back in
// errors by index. data lists the sent emails' ids in request order.
func (s *Server) acceptBatch(req fakehttp.Request, key string) (int, any) {
	mode := strings.ToLower(req.Header.Get("X-Batch-Validation"))
	if mode == "" {
		mode = "strict"
	}
	if mode != "strict" && mode != "permissive" {
		return errorAnswer(http.StatusUnprocessableEntity, "validation_error",
			"Invalid `x-batch-validation` header: must be `strict` or `permissive`.")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(req.Body, &raw); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errorAnswer(http.StatusBadRequest, "validation_error", "Invalid JSON: "+err.Error())
		}
		return errorAnswer(http.StatusUnprocessableEntity, "validation_error", "The body must be an array of emails.")
	}
	if len(raw) == 0 {
		return errorAnswer(http.StatusUnprocessableEntity, "validation_error", "The batch must contain at least 1 email.")
	}
	if len(raw) > MaxBatch {
		return errorAnswer(http.StatusUnprocessableEntity, "validation_error",
			fmt.Sprintf("Too many emails in the batch: max %d.", MaxBatch))
	}
	emails := make([]Email, len(raw))
	var errs []batchError
	for i, r := range raw {
		st, a, bad := checkBatchEmail(r, &emails[i])
		if !bad {
			continue
		}
		if mode == "strict" {
			return st, a
		}
		errs = append(errs, batchError{Index: i, Message: a.(apiError).Message})
	}
	ans := batchAnswer{Data: []map[string]string{}, Errors: errs}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := 0
	for i := range emails {
		if next < len(errs) && errs[next].Index == i {
			next++
			continue
		}
		s.seq++
		e := emails[i]
		e.ID = fmt.Sprintf("00000000-0000-4000-8000-%012x", s.seq)
		e.IdempotencyKey = key
		s.emails = append(s.emails, e)
		ans.Data = append(ans.Data, map[string]string{"id": e.ID})
	}
	if mode == "strict" {
		ans.Errors = nil
	} else if ans.Errors == nil {
		ans.Errors = []batchError{}
	}
	return http.StatusOK, ans
}

// checkBatchEmail decodes and validates one member of a batch.
func checkBatchEmail(raw json.RawMessage, e *Email) (int, any, bool) {
	if err := fakehttp.DecodeStrict(raw, e); err != nil {
		st, a := errorAnswer(http.StatusUnprocessableEntity, "validation_error", err.Error())
		return st, a, true
	}
	if len(e.Attachments) > 0 {
		st, a := errorAnswer(http.StatusUnprocessableEntity, "validation_error",
			"Attachments are not supported in batch emails.")
		return st, a, true
	}
	if e.ScheduledAt != "" {
		st, a := errorAnswer(http.StatusUnprocessableEntity, "validation_error",
			"`scheduled_at` is not supported in batch emails.")
		return st, a, true
	}
	return validate(e)
}
