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
