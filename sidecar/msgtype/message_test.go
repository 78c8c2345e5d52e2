package msgtype_test

import (
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// meta.transactional is read as encoding/json reads it, quick path or not.
func TestMessage_Transactional(t *testing.T) {
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
		if got := (&msgtype.Message{Meta: []byte(meta)}).Transactional(); got != want {
			t.Errorf("transactional(%s) = %v, want %v", meta, got, want)
		}
	}
}
