package httpapi

import "testing"

func TestRedactRecipients(t *testing.T) {
	t.Parallel()
	ptr := func(s string) *string { return &s }
	for _, c := range []struct {
		name, reason string
		recipient    *string
		want         string
	}{
		{"PostmarkInactive", "postmark http 422 code 406: Found inactive addresses: a@x.test, b.c+d@y.example.org.", nil,
			"postmark http 422 code 406: Found inactive addresses: [redacted], [redacted]."},
		{"TwilioInvalidTo", "twilio http 400 code 21211: The 'To' number +1 415-555-0100 is not a valid phone number.", nil,
			"twilio http 400 code 21211: The 'To' number [redacted] is not a valid phone number."},
		{"BareDigits", "rejected 4155550100 (code 30007)", nil, "rejected [redacted] (code 30007)"},
		{"DisplayName", `refused "Ada Lovelace" <ada@x.test>`, ptr(`"Ada Lovelace" <ada@x.test>`), `refused [redacted]`},
		{"NameAlone", `mailbox of Ada Lovelace is full`, ptr(`Ada Lovelace <ada@x.test>`), `mailbox of [redacted] is full`},
		{"CodesKept", "resend http 429: rate limited; lease of w-1 expired during attempt 3 of 5", nil,
			"resend http 429: rate limited; lease of w-1 expired during attempt 3 of 5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := redactRecipients(c.reason, c.recipient); got != c.want {
				t.Errorf("redactRecipients(%q) =\n%q, want\n%q", c.reason, got, c.want)
			}
		})
	}
}
