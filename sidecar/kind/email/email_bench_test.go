package email

import (
	"context"
	"log/slog"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
)

// BenchmarkEmail_Handle measures one email.send through the log provider
// without a suppression list, payload decoding included.
//
//	go test ./sidecar/kind/email -run '^$' -bench Email_Handle -benchmem
func BenchmarkEmail_Handle(b *testing.B) {
	h := Handler{Sender: outbox.New(100, slog.New(slog.DiscardHandler))}
	m := &msgtype.Message{ID: 1, Kind: "email.send", Queue: "email", Meta: []byte(`{}`), Attempt: 1,
		Payload: []byte(`{"to": "user1@example.com", "from": "bench@example.com", "text": "hello", "subject": "bench 1"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmail_PreparedClaim measures a claim of 100 emails the way the
// worker runs a big claim: Prepare decodes them all (no suppression list
// here), then each message's job sends it through the log provider. One op
// is the whole claim; allocs/op divided by 100 is the cost per message.
func BenchmarkEmail_PreparedClaim(b *testing.B) {
	h := Handler{Sender: outbox.New(100, slog.New(slog.DiscardHandler))}
	msgs := make([]*msgtype.Message, 100)
	for i := range msgs {
		msgs[i] = &msgtype.Message{ID: int64(i), Kind: "email.send", Queue: "email", Meta: []byte(`{}`), Attempt: 1,
			Payload: []byte(`{"to": "user1@example.com", "from": "bench@example.com", "text": "hello", "subject": "bench 1"}`)}
	}
	jobs := make([]msgtype.Job, len(msgs))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Prepare(ctx, msgs, jobs); err != nil {
			b.Fatal(err)
		}
		for i, j := range jobs {
			if _, err := j.Send(ctx); err != nil {
				b.Fatal(i, err)
			}
		}
		clear(jobs)
	}
}
