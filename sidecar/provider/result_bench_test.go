package provider_test

import (
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// BenchmarkReceipt measures the stored result of a send.
func BenchmarkReceipt(b *testing.B) {
	m := &msgtype.Message{ID: 1, Attempt: 1}
	r := provider.Receipt{Provider: "log", MessageID: "log-123456", Status: "captured"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Result(m, nil); err != nil {
			b.Fatal(err)
		}
	}
}
