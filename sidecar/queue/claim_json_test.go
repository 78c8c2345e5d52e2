package queue_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// A claimed message carries its payload and meta as the JSON they were
// dispatched with (claim scans them as bytes, not through json.Unmarshal).
func TestQueue_ClaimReturnsPayloadAndMetaJSON(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	payload := `{"to": ["Ann <ann@example.com>"], "from": "me@example.com", "subject": "ünï €", "html": "<p>\"q\"</p>"}`
	meta := `{"transactional": true, "n": [1, 2.5, null]}`
	mustExec(t, pool, `select symphony.dispatch('email.send', $1::jsonb, jsonb_build_object('meta', $2::jsonb))`, payload, meta)
	msgs, err := queue.NewStore(pool, "w1").Claim(ctx, "email", 10, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("claim: %v, %d messages", err, len(msgs))
	}
	for _, c := range []struct {
		name      string
		got, want string
	}{{"payload", string(msgs[0].Payload), payload}, {"meta", string(msgs[0].Meta), meta}} {
		var got, want any
		if err := json.Unmarshal([]byte(c.got), &got); err != nil {
			t.Fatalf("%s is not JSON: %q: %v", c.name, c.got, err)
		}
		_ = json.Unmarshal([]byte(c.want), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}
