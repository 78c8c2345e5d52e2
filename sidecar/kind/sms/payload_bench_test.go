package sms

import "testing"

// BenchmarkDecodeSMS measures decoding a typical sms.send payload.
//
//	go test ./sidecar/kind/sms -run '^$' -bench DecodeSMS -benchmem
func BenchmarkDecodeSMS(b *testing.B) {
	payload := []byte(`{"to": "+14155550100", "body": "Your code is 123456", "from": "+14155550199"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSMS(payload); err != nil {
			b.Fatal(err)
		}
	}
}
