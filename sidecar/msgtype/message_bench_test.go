package msgtype_test

import (
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// BenchmarkMessage_Transactional measures reading meta.transactional.
func BenchmarkMessage_Transactional(b *testing.B) {
	for _, meta := range []string{`{}`, `{"campaign_id": 12, "transactional": true}`} {
		b.Run(meta, func(b *testing.B) {
			m := &msgtype.Message{Meta: []byte(meta)}
			b.ReportAllocs()
			for b.Loop() {
				m.Transactional()
			}
		})
	}
}
