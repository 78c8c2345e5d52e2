package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/membudget"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/quiethours"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// Email handles email.send with one EmailSender.
type Email struct {
	Sender    provider.EmailSender
	Namespace string // the installation id, part of idempotency keys
	// Storage fetches attachments kept in Supabase Storage; nil when the
	// sidecar has no SUPABASE_URL (such messages then fail with the reason).
	Storage storage.Fetcher
	// MaxAttachmentBytes bounds the attachments of one email, all together.
	MaxAttachmentBytes int64
	// Memory bounds the bytes held by emails with attachments at once (nil:
	// no bound): each reserves its estimated cost before fetching and
	// releases it once its provider call is over. Emails without
	// attachments never wait on it.
	Memory *membudget.Budget
	// Suppressions, when set, is checked at most preparedMaxAge before the
	// provider call (at claim time, see Prepare, or right before the call):
	// suppressed recipients are dropped, and a message left with none in "to"
	// is cancelled.
	Suppressions Suppressions
}

// Handle decodes the payload and sends it; the provider's receipt is the result.
// What Prepare worked out at claim time is used if it is there (and its
// suppression check recent enough).
func (h Email) Handle(ctx context.Context, m *queue.Message) (json.RawMessage, error) {
	e, refs, p, err := h.decoded(m)
	if err != nil {
		return nil, err
	}
	var sup []Suppressed
	if h.Suppressions != nil {
		if p != nil && p.usable() {
			sup = p.sup
		} else if sup, err = h.Suppressions.Suppressed(ctx, "email", recipients(e), transactional(m.Meta)); err != nil {
			return nil, err
		}
	}
	if err := suppress(e, sup); err != nil {
		return nil, err
	}
	return h.deliver(ctx, m, e, refs, sup)
}

// decoded is m's email and its attachments in Storage, from what Prepare
// left (p, then no longer kept on the message) or decoded now.
func (h Email) decoded(m *queue.Message) (*provider.Email, []StorageRef, *emailPrepared, error) {
	p, _ := m.Prepared.(*emailPrepared)
	if p != nil {
		// Not kept on the message past this attempt: the claim's other
		// messages keep the message alive, and with it the attachments
		// fetched below.
		m.Prepared = nil
		return p.email, p.refs, p, nil
	}
	e, refs, err := DecodeEmail(m.Payload)
	if err != nil {
		return nil, nil, nil, provider.Permanent(err)
	}
	return e, refs, nil, nil
}

// suppress drops e's suppressed recipients; with none left in "to", the
// message is cancelled.
func suppress(e *provider.Email, sup []Suppressed) error {
	if len(sup) == 0 {
		return nil
	}
	e.To, e.Cc, e.Bcc = without(e.To, sup), without(e.Cc, sup), without(e.Bcc, sup)
	if len(e.To) == 0 {
		return worker.Cancel(CancelledBySuppression, fmt.Sprintf("suppressed: %s (%s)", sup[0].Address, sup[0].Reason), suppressedResult(sup))
	}
	return nil
}

// deliver sends e, whose suppressed recipients are gone, in a request of its
// own.
func (h Email) deliver(ctx context.Context, m *queue.Message, e *provider.Email, refs []StorageRef, sup []Suppressed) (json.RawMessage, error) {
	res, err := h.reserve(ctx, e, refs)
	if err != nil {
		return nil, err
	}
	// Released once the provider call is over and its request body gone.
	defer res.Release()
	if err := h.fetchAttachments(ctx, e, refs, res); err != nil {
		return nil, err
	}
	r, err := h.Sender.SendEmail(ctx, send(h.Namespace, m), e)
	if err != nil {
		return nil, err
	}
	return emailReceipt(r, m, h.Sender, sup)
}

// emailReceipt is receipt, saying which recipients were left out.
func emailReceipt(r provider.Receipt, m *queue.Message, sender any, sup []Suppressed) (json.RawMessage, error) {
	if len(sup) > 0 {
		if r.Extra == nil {
			r.Extra = map[string]any{}
		}
		r.Extra["suppressed"] = sup
	}
	return receipt(r, m, sender)
}

// SMS handles sms.send with one SMSSender.
type SMS struct {
	Sender    provider.SMSSender
	Namespace string // the installation id, part of idempotency keys
	// Suppressions, when set, is checked as for Email; a suppressed number
	// cancels the message.
	Suppressions Suppressions
	// Now is the clock quiet hours are read against (time.Now when nil).
	Now func() time.Time
}

// Handle decodes the payload and sends it; the provider's receipt is the result.
// A suppressed number cancels it; outside its quiet-hours window
// (meta.quiet_hours) it is deferred to the window's opening.
// What Prepare worked out at claim time is used as in Email.Handle.
func (h SMS) Handle(ctx context.Context, m *queue.Message) (json.RawMessage, error) {
	var s *provider.SMS
	p, _ := m.Prepared.(*smsPrepared)
	if p != nil {
		m.Prepared = nil // as in Email.Handle
		s = p.sms
	} else {
		var err error
		if s, err = DecodeSMS(m.Payload); err != nil {
			return nil, provider.Permanent(err)
		}
	}
	if h.Suppressions != nil {
		var sup []Suppressed
		if p != nil && p.usable() {
			sup = p.sup
		} else {
			var err error
			if sup, err = h.Suppressions.Suppressed(ctx, "sms", []string{s.To}, transactional(m.Meta)); err != nil {
				return nil, err
			}
		}
		if len(sup) > 0 {
			return nil, worker.Cancel(CancelledBySuppression, fmt.Sprintf("suppressed: %s (%s)", s.To, sup[0].Reason), suppressedResult(sup))
		}
	}
	window, err := quiethours.FromMeta(m.Meta)
	if err != nil {
		return nil, provider.Permanent(err)
	}
	if now := clock(h.Now); window != nil && !window.Open(now) {
		open := window.Next(now)
		return nil, worker.Defer(open.Sub(now), fmt.Sprintf("quiet hours: sending opens at %s", open.In(window.Location).Format("2006-01-02 15:04 MST")))
	}
	r, err := h.Sender.SendSMS(ctx, send(h.Namespace, m), s)
	if err != nil {
		return nil, err
	}
	return receipt(r, m, h.Sender)
}

// memoryRetry is how long an email that waited in vain for memory is deferred.
const memoryRetry = 2 * time.Second

// reserve takes from h.Memory what an email with attachments may cost: its
// inline attachments, and as much as its size bound allows for those still
// in Storage (shrunk to the real size once fetched). An email that alone
// needs more than the whole budget fails for good; one that waits is bounded
// by ctx (its lease) and then retried.
func (h Email) reserve(ctx context.Context, e *provider.Email, refs []StorageRef) (*membudget.Reservation, error) {
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
		return nil, provider.Permanent(fmt.Errorf("attachments of %d bytes: %w (about %d bytes per attachment byte; SYMPHONY_ATTACHMENT_MEMORY_BYTES)", inline, err, membudget.Factor))
	case err != nil && ctx.Err() == nil:
		return nil, worker.Defer(memoryRetry, fmt.Sprintf("waiting for memory for attachments: %d of %d bytes in use", h.Memory.InUse(), h.Memory.Size()))
	case err != nil:
		return nil, fmt.Errorf("waiting for memory for attachments: %w", err)
	}
	return res, nil
}

// fetchAttachments fills in attachments kept in Storage, within the budget
// left by the inline ones, and shrinks res to what they cost once known.
func (h Email) fetchAttachments(ctx context.Context, e *provider.Email, refs []StorageRef, res *membudget.Reservation) error {
	budget := h.MaxAttachmentBytes
	for _, a := range e.Attachments {
		budget -= int64(len(a.Content))
	}
	if budget < 0 {
		return provider.Permanent(fmt.Errorf("attachments total more than %d bytes (SYMPHONY_ATTACHMENT_MAX_BYTES)", h.MaxAttachmentBytes))
	}
	if len(refs) > 0 && h.Storage == nil {
		return provider.Permanent(fmt.Errorf("attachments in Supabase Storage need SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY in the sidecar's environment"))
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
			return provider.Permanent(fmt.Errorf("attachments of %d bytes: %w: needs about %d bytes, the budget is %d bytes (SYMPHONY_ATTACHMENT_MEMORY_BYTES)",
				total, membudget.ErrTooLarge, need, h.Memory.Size()))
		}
		res.Shrink(membudget.Cost(total))
	}
	return nil
}

func send(ns string, m *queue.Message) provider.Send {
	return provider.Send{Namespace: ns, MessageID: m.ID, Attempt: m.Attempt}
}

// receipt is the stored result. It says when the recipient may have received
// the message twice: an earlier attempt may have reached a provider that does
// not deduplicate retries, or went out under a key this one did not carry (a
// batch that could not be repeated). At-least-once, never silently more.
func receipt(r provider.Receipt, m *queue.Message, sender any) (json.RawMessage, error) {
	if (m.MaybeSentBefore && !provider.RetriesAreIdempotent(sender)) || m.DuplicateRisk {
		r.PossibleDuplicate = true
	}
	if b, ok := appendReceipt(make([]byte, 0, 80+len(r.Provider)+len(r.MessageID)+len(r.Status)), r); ok {
		return b, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		// The call succeeded: failing now would send again. Keep what we know.
		return json.RawMessage(fmt.Sprintf(`{"provider":%q,"provider_message_id":%q}`, r.Provider, r.MessageID)), nil
	}
	return b, nil
}

// appendReceipt appends r as json.Marshal writes it, without reflection, when
// that is simple: no Extra, and strings of printable ASCII that JSON does not
// escape (json.Marshal escapes <, > and & too). ok is false otherwise.
func appendReceipt(b []byte, r provider.Receipt) (_ []byte, ok bool) {
	if len(r.Extra) > 0 || !plainJSON(r.Provider) || !plainJSON(r.MessageID) || !plainJSON(r.Status) {
		return b, false
	}
	b = append(b, `{"provider":"`...)
	b = append(b, r.Provider...)
	b = append(b, '"')
	if r.MessageID != "" {
		b = append(b, `,"provider_message_id":"`...)
		b = append(b, r.MessageID...)
		b = append(b, '"')
	}
	if r.Status != "" {
		b = append(b, `,"status":"`...)
		b = append(b, r.Status...)
		b = append(b, '"')
	}
	if r.PossibleDuplicate {
		b = append(b, `,"possible_duplicate":true`...)
	}
	return append(b, '}'), true
}

// plainJSON reports whether json.Marshal writes s as it is, between quotes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Builtins returns the handlers of the built-in kinds. With a database, the
// senders check the suppression list and campaign.process and drip.step are
// handled too.
func Builtins(d Deps) worker.Handlers {
	var sup Suppressions
	if d.DB != nil {
		sup = &SuppressionBatch{DB: d.DB}
	}
	h := worker.Handlers{
		"email.send": Email{Sender: d.Email, Namespace: d.Namespace, Storage: d.Storage, MaxAttachmentBytes: d.MaxAttachmentBytes,
			Memory: d.Memory, Suppressions: sup},
		"sms.send": SMS{Sender: d.SMS, Namespace: d.Namespace, Suppressions: sup, Now: d.Now},
	}
	if d.DB != nil {
		h["campaign.process"] = Campaign{DB: d.DB, Now: d.Now}
		h["drip.step"] = Drip{DB: d.DB, Now: d.Now}
	}
	return h
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

// Deps is what the built-in handlers need.
type Deps struct {
	Email     provider.EmailSender
	SMS       provider.SMSSender
	Namespace string // the installation id (symphony.installation)
	// Storage fetches attachments kept in Supabase Storage; nil without SUPABASE_URL.
	Storage            storage.Fetcher
	MaxAttachmentBytes int64
	// Memory bounds the bytes of emails with attachments in flight (nil: none).
	Memory *membudget.Budget
	// DB is where campaigns, drips and the suppression list live.
	DB *pgxpool.Pool
	// Now is the clock of quiet hours and drip timing; time.Now when nil (tests
	// drive it).
	Now func() time.Time
}
