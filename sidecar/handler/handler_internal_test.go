package handler

import (
	"encoding/json"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// idempotent is a sender whose providers deduplicate retries.
type idempotent struct{}

func (idempotent) IdempotentRetries() bool { return true }

// The stored result is byte for byte what json.Marshal writes, on the quick
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
		{Provider: "x", MessageID: "m", Extra: map[string]any{"suppressed": []Suppressed{{Address: "a@example.com", Reason: "bounced"}}}},
		{Provider: "x", MessageID: "m", Extra: map[string]any{}},
	} {
		for _, m := range []*queue.Message{{}, {MaybeSentBefore: true}} {
			for _, sender := range []any{nil, idempotent{}} {
				got, err := receipt(r, m, sender)
				if err != nil {
					t.Fatal(err)
				}
				if m.MaybeSentBefore && sender == nil {
					r.PossibleDuplicate = true
				}
				want, _ := json.Marshal(r)
				r.PossibleDuplicate = false
				if string(got) != string(want) {
					t.Errorf("receipt(%+v, maybe sent %v, %T) = %s, want %s", r, m.MaybeSentBefore, sender, got, want)
				}
			}
		}
	}
}

// meta.transactional is read as encoding/json reads it, quick path or not.
func TestTransactional(t *testing.T) {
	t.Parallel()
	for meta, want := range map[string]bool{
		``:                                      false,
		`{}`:                                    false,
		`null`:                                  false,
		`{"transactional": true}`:               true,
		`{"Transactional": true}`:               true,
		`{"transactional": false}`:              false,
		`{"transactional": "true"}`:             false,
		`{"transactional": 1}`:                  false,
		`{"campaign": {"transactional": true}}`: false,
		`{"transactional": true, "x": [true]}`:  true,
		`{"x": true}`:                           false,
		`{"transactional": tru}`:                false,
		`{"\u0074ransactional": true}`:          true,
	} {
		if got := transactional(json.RawMessage(meta)); got != want {
			t.Errorf("transactional(%s) = %v, want %v", meta, got, want)
		}
	}
}
