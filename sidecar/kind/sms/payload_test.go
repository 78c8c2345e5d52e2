package sms

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// e164 is the schema's pattern, the oracle of validE164.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func TestDecodeSMS(t *testing.T) {
	t.Parallel()
	if m, err := DecodeSMS([]byte(`{"to":"+14155550100","body":"hi","from":"+14155550199"}`)); err != nil || m.From != "+14155550199" {
		t.Fatalf("valid: %v %+v", err, m)
	}
	cases := map[string]string{
		`{"to":"4155550100","body":"hi"}`:                                  "E.164",
		`{"to":"+14155550100","body":""}`:                                  `"body" is required`,
		`{"to":"+14155550100","body":"x","extra":1}`:                       "unknown field",
		`{"TO":"+14155550100","body":"x"}`:                                 `unknown field "TO"`,
		`{"to":"+14155550100","body":"x","body":"y"}`:                      `repeated field "body"`,
		`{"to":"+14155550100","body":"x"}}`:                                "trailing data",
		`{"to":"+14155550100","body":5}`:                                   `"body": must be a string`,
		`["+14155550100"]`:                                                 "must be a JSON object",
		`{"to":"+14155550100","body":"` + strings.Repeat("x", 1601) + `"}`: "1600",
	}
	for in, want := range cases {
		if _, err := DecodeSMS([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeSMS(%.60s) = %v, want %q", in, err, want)
		}
	}
}

func TestValidE164_EdgeCases(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "+", "+1", "+123456", "+1234567", "+0234567", "+123456789012345", "+1234567890123456",
		"14155550100", "+14155550100", "+14155550100\n", " +14155550100", "+1415555010a", "++14155550100", "+١٢٣٤٥٦٧٨"} {
		if got, want := validE164(s), e164.MatchString(s); got != want {
			t.Errorf("validE164(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

func FuzzDecodeSMS(f *testing.F) {
	f.Add([]byte(`{"to":"+14155550100","body":"hi"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeSMS(b)
		if err != nil {
			return
		}
		if !e164.MatchString(m.To) || strings.TrimSpace(m.Body) == "" {
			t.Fatalf("accepted an unsendable sms: %+v", m)
		}
	})
}

// FuzzValidE164: validE164 agrees with the schema's pattern.
func FuzzValidE164(f *testing.F) {
	f.Add("+14155550100")
	f.Add("+0234567")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validE164(s), e164.MatchString(s); got != want {
			t.Fatalf("validE164(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}

// FuzzDecodeSMSOracle: the hand-written decoder reads what strictjson.Decode
// (the same shape rules, values by encoding/json) reads, as it reads it, and
// refuses what it refuses.
func FuzzDecodeSMSOracle(f *testing.F) {
	f.Add([]byte(`{"to":"+14155550100","body":"hi","from":null}`))
	f.Add([]byte(`{"to":"+14155550100","body":"\u00e9\ud83d\ude00 \ud83d"}`))
	f.Add([]byte(`{"to":"+14155550100","body":"x","to":"+14155550101"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want provider.SMS
		gerr := decodeSMSPayload(b, &got)
		werr := strictjson.Decode(b, &want)
		if werr == nil && !bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{")) {
			return // null: encoding/json leaves the zero value, the decoder wants an object; the checks refuse both
		}
		if (gerr == nil) != (werr == nil) || gerr == nil && got != want {
			t.Fatalf("%q: decoder %+v, %v; strictjson.Decode %+v, %v", b, got, gerr, want, werr)
		}
	})
}
