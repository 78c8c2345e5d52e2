package provider

import (
	"context"
	"strconv"
)

// Batch describes one batch request: the messages it carries, in order, and
// the key it is sent under. The worker records a batch (its key and member
// message ids) before the first call, so every retry of it, by this sidecar
// or another after a crash, sends the same members under the same key.
type Batch struct {
	// Namespace is the database's installation id, as in Send.
	Namespace string
	// ID is the batch's row id: stable for the life of the batch.
	ID int64
	// Attempt is 1 for the first call.
	Attempt int
}

// IdempotencyKey is the key of every call of the batch: stable across
// retries and sidecars, distinct from any single message's key and across
// databases.
func (b Batch) IdempotencyKey() string {
	return BatchKeyPrefix(b.Namespace) + strconv.FormatInt(b.ID, 10)
}

// BatchKeyPrefix is what every batch key of namespace starts with; the
// batch id follows.
func BatchKeyPrefix(namespace string) string {
	if namespace == "" {
		return "symphony-batch-"
	}
	return "symphony-" + namespace + "-batch-"
}

// BatchResult is one member's outcome in a batch answer: a Receipt, or Err
// (a *Error) for that member alone.
type BatchResult struct {
	Receipt Receipt
	Err     error
}

// BatchEmailSender is an EmailSender whose provider takes several emails in
// one request. SendEmailBatch returns one result per email, in order, when
// the provider answered per email; a non-nil error instead applies to every
// email of the batch (the request as a whole failed or had no answer).
type BatchEmailSender interface {
	EmailSender
	// MaxBatch is the most emails one request may carry.
	MaxBatch() int
	// Batchable reports whether e may travel in a batch request; an email
	// that may not (attachments on Resend's batch endpoint, say) goes single.
	Batchable(e *Email) bool
	SendEmailBatch(ctx context.Context, b Batch, emails []*Email) ([]BatchResult, error)
}
