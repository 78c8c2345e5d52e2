package email

import "testing"

// Payloads as the sidecar receives them: PostgreSQL's jsonb text (keys
// ordered by length, ", " and ": " separators).
var benchEmails = []struct{ name, payload string }{
	{"Typical", `{"to": "user1@example.com", "from": "bench@example.com", "text": "hello", "subject": "bench 1"}`},
	{"Full", `{"cc": ["Ann <ann@example.com>", "bob@example.org"], "to": "user1@example.com", "from": "Bench <bench@example.com>", ` +
		`"html": "<p>Hello \"user1\",</p>\n<p>Your order ships today.</p>", "tags": {"campaign": "c1", "variant": "b"}, ` +
		`"text": "Hello user1,\n\nYour order ships today.", "headers": {"List-Unsubscribe": "<https://example.com/u/1>"}, "subject": "Your order"}`},
}

// BenchmarkDecodeEmail measures the per-message decode and check of an
// email.send payload.
//
//	go test ./sidecar/kind/email -run '^$' -bench DecodeEmail -benchmem
func BenchmarkDecodeEmail(b *testing.B) {
	for _, c := range benchEmails {
		b.Run(c.name, func(b *testing.B) {
			payload := []byte(c.payload)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := DecodeEmail(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidAddress measures the address check alone.
func BenchmarkValidAddress(b *testing.B) {
	for _, a := range []string{"user1@example.com", "Bench Sender <bench.sender@mail.example.co.uk>"} {
		b.Run(a[:4], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !validAddress(a) {
					b.Fatal(a)
				}
			}
		})
	}
}
