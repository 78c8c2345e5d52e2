package provider_test

import (
	"encoding/json"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// idempotent is a sender whose providers deduplicate retries.
type idempotent struct{}

func (idempotent) IdempotentRetries() bool { return true }

// The stored result (Receipt.Result) is byte for byte what json.Marshal writes, on the quick
// path and off it.
func TestReceipt_AsJSONMarshalWritesIt(t *testing.T) {
	t.Parallel()
	for _, r := range []provider.Receipt{
		{},
		{Provider: "log", MessageID: "log-1", Status: "captured"},
		{Provider: "resend", MessageID: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"},
		{Provider: "twilio", Status: "queued"},
		{Provider: "sendgrid", MessageID: "a<b>&c"},
		{Provider: "postmark", MessageID: `quote " and \ backslash`},
		{Provider: "x", MessageID: "tab\there", Status: "é"},
		{Provider: "x", MessageID: "\u2028"},
		{Provider: "x", MessageID: "\xff"},
		{Provider: "x", MessageID: "m", Extra: map[string]any{"suppressed": []map[string]string{{"address": "a@example.com", "reason": "bounced"}}}},
		{Provider: "x", MessageID: "m", Extra: map[string]any{}},
	} {
		for _, m := range []*msgtype.Message{{}, {MaybeSentBefore: true}} {
			for _, sender := range []any{nil, idempotent{}} {
				got, err := r.Result(m, sender)
				if err != nil {
					t.Fatal(err)
				}
				if m.MaybeSentBefore && sender == nil {
					r.PossibleDuplicate = true
				}
				want, _ := json.Marshal(r)
				r.PossibleDuplicate = false
				if string(got) != string(want) {
					t.Errorf("Result(%+v, maybe sent %v, %T) = %s, want %s", r, m.MaybeSentBefore, sender, got, want)
				}
			}
		}
	}
}
