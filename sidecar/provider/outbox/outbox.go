package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// Entry is one captured message.
type Entry struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	Channel   string          `json:"channel"` // email or sms
	MessageID int64           `json:"message_id"`
	Attempt   int             `json:"attempt"`
	Email     *provider.Email `json:"email,omitempty"`
	SMS       *provider.SMS   `json:"sms,omitempty"`
}

// Outbox captures messages instead of sending them. It is both an EmailSender
// and an SMSSender, safe for concurrent use.
type Outbox struct {
	log  *slog.Logger
	mu   sync.Mutex
	ring []Entry
	next int
	seq  int64
}

// New returns an Outbox that keeps the last size messages.
func New(size int, log *slog.Logger) *Outbox {
	if size < 1 {
		size = 1
	}
	return &Outbox{log: log.With("component", "outbox"), ring: make([]Entry, 0, size)}
}

// Name is the provider name stored in results.
func (o *Outbox) Name() string { return "log" }

func (o *Outbox) add(e Entry) Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	e.Seq = o.seq
	e.At = time.Now().UTC()
	if len(o.ring) < cap(o.ring) {
		o.ring = append(o.ring, e)
	} else {
		o.ring[o.next] = e
		o.next = (o.next + 1) % cap(o.ring)
	}
	return e
}

// SendEmail captures e.
func (o *Outbox) SendEmail(ctx context.Context, s provider.Send, e *provider.Email) (provider.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return provider.Receipt{}, err
	}
	en := o.add(Entry{Channel: "email", MessageID: s.MessageID, Attempt: s.Attempt, Email: e})
	// Below the log level (a benchmark, a busy staging sidecar), the line's
	// attributes are not even built.
	if o.log.Enabled(ctx, slog.LevelInfo) {
		files := make([]string, 0, len(e.Attachments))
		for _, a := range e.Attachments {
			files = append(files, fmt.Sprintf("%s (%d bytes)", a.Filename, len(a.Content)))
		}
		o.log.InfoContext(ctx, "email captured (log provider: not sent)",
			"message_id", s.MessageID, "outbox_seq", en.Seq, "from", e.From, "to", e.To, "cc", e.Cc, "bcc", e.Bcc,
			"subject", e.Subject, "text", clip(e.Text, 500), "html_bytes", len(e.HTML), "attachments", files)
	}
	return receipt(en.Seq), nil
}

func receipt(seq int64) provider.Receipt {
	return provider.Receipt{Provider: "log", MessageID: "log-" + strconv.FormatInt(seq, 10), Status: "captured"}
}

// SendSMS captures m.
func (o *Outbox) SendSMS(ctx context.Context, s provider.Send, m *provider.SMS) (provider.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return provider.Receipt{}, err
	}
	en := o.add(Entry{Channel: "sms", MessageID: s.MessageID, Attempt: s.Attempt, SMS: m})
	if o.log.Enabled(ctx, slog.LevelInfo) {
		o.log.InfoContext(ctx, "sms captured (log provider: not sent)",
			"message_id", s.MessageID, "outbox_seq", en.Seq, "to", m.To, "from", m.From, "body", clip(m.Body, 500))
	}
	return receipt(en.Seq), nil
}

// Entries returns the captured messages, newest first.
func (o *Outbox) Entries() []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Entry, 0, len(o.ring))
	for i := len(o.ring) - 1; i >= 0; i-- {
		out = append(out, o.ring[(o.next+i)%len(o.ring)])
	}
	return out
}

// clip cuts s to its first n characters, marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s // no more characters than bytes
	}
	i := 0
	for at := range s {
		if i == n {
			head := s[:at]
			if !utf8.ValidString(head) {
				head = string([]rune(head)) // invalid bytes shown as U+FFFD, as always
			}
			return head + "…"
		}
		i++
	}
	return s
}
