package email

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/membudget"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// memoryRetry is how long an email that waited in vain for memory is deferred.
const memoryRetry = 2 * time.Second

// reserve takes from h.Memory what an email with attachments may cost: its
// inline attachments, and as much as its size bound allows for those still
// in Storage (shrunk to the real size once fetched). An email that alone
// needs more than the whole budget fails for good; one that waits is bounded
// by ctx (its lease) and then retried.
func (h *Handler) reserve(ctx context.Context, e *provider.Email, refs []StorageRef) (*membudget.Reservation, error) {
	if h.Memory == nil || (len(e.Attachments) == 0 && len(refs) == 0) {
		return &membudget.Reservation{}, nil
	}
	var inline int64
	for _, a := range e.Attachments {
		inline += int64(len(a.Content))
	}
	need := membudget.Cost(inline)
	if len(refs) > 0 && h.MaxAttachmentBytes > inline {
		// Not yet known: at most the size bound, and never more than the
		// whole budget (the real size is checked once fetched).
		need = min(membudget.Cost(h.MaxAttachmentBytes), h.Memory.Size())
	}
	// Wait for at most half of what is left of the attempt, then defer the
	// message (not a failure: no attempt is spent) so that a long line of
	// emails with attachments cannot dead-letter any of them.
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		wctx, cancel = context.WithTimeout(ctx, time.Until(dl)/2)
	}
	defer cancel()
	res, err := h.Memory.Acquire(wctx, need)
	switch {
	case errors.Is(err, membudget.ErrTooLarge):
		return nil, msgtype.Permanent(fmt.Errorf("attachments of %d bytes: %w (about %d bytes per attachment byte; SYMPHONY_ATTACHMENT_MEMORY_BYTES)", inline, err, membudget.Factor))
	case err != nil && ctx.Err() == nil:
		return nil, msgtype.Defer(memoryRetry, fmt.Sprintf("waiting for memory for attachments: %d of %d bytes in use", h.Memory.InUse(), h.Memory.Size()))
	case err != nil:
		return nil, fmt.Errorf("waiting for memory for attachments: %w", err)
	}
	return res, nil
}

// fetchAttachments fills in attachments kept in Storage, within the budget
// left by the inline ones, and shrinks res to what they cost once known.
func (h *Handler) fetchAttachments(ctx context.Context, e *provider.Email, refs []StorageRef, res *membudget.Reservation) error {
	budget := h.MaxAttachmentBytes
	for _, a := range e.Attachments {
		budget -= int64(len(a.Content))
	}
	if budget < 0 {
		return msgtype.Permanent(fmt.Errorf("attachments total more than %d bytes (SYMPHONY_ATTACHMENT_MAX_BYTES)", h.MaxAttachmentBytes))
	}
	if len(refs) > 0 && h.Storage == nil {
		return msgtype.Permanent(fmt.Errorf("attachments in Supabase Storage need SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY in the sidecar's environment"))
	}
	for _, r := range refs {
		b, ct, err := h.Storage.Fetch(ctx, r.Bucket, r.Path, budget)
		if err != nil {
			return err
		}
		budget -= int64(len(b))
		a := &e.Attachments[r.Index]
		a.Content = b
		if a.ContentType == "" {
			a.ContentType = ct
		}
	}
	if h.Memory != nil && len(refs) > 0 {
		var total int64
		for _, a := range e.Attachments {
			total += int64(len(a.Content))
		}
		if need := membudget.Cost(total); need > h.Memory.Size() {
			return msgtype.Permanent(fmt.Errorf("attachments of %d bytes: %w: needs about %d bytes, the budget is %d bytes (SYMPHONY_ATTACHMENT_MEMORY_BYTES)",
				total, membudget.ErrTooLarge, need, h.Memory.Size()))
		}
		res.Shrink(membudget.Cost(total))
	}
	return nil
}
