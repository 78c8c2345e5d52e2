package msgtype

import (
	"bytes"
	"encoding/json"
	"time"
)

// Message is a claimed message: the attempt now under way is Attempt.
type Message struct {
	ID          int64
	Kind        string
	Queue       string
	Payload     json.RawMessage
	Attempt     int
	MaxAttempts int
	Priority    int16
	Subject     *string
	Meta        json.RawMessage
	CreatedAt   time.Time
	// MaybeSentBefore: an earlier attempt may have reached the provider (its
	// call failed ambiguously, or its sidecar died mid-call).
	MaybeSentBefore bool
	// DuplicateRisk: an earlier request that carried this message, under
	// an idempotency key the next request will not carry (a batch that
	// could not be repeated), may have been accepted. A success is then
	// flagged possible_duplicate whatever the provider. Set by the worker.
	DuplicateRisk bool
}

// Transactional reports whether the message's meta says
// {"transactional": true}: it is not marketing, so it goes alone and first,
// and an unsubscribe does not stop it.
func (m *Message) Transactional() bool {
	if !bytes.Contains(m.Meta, []byte("true")) {
		return false // no JSON true anywhere (most meta): no need to decode it
	}
	var meta struct {
		Transactional bool `json:"transactional"`
	}
	_ = json.Unmarshal(m.Meta, &meta) // meta is a JSON object (a table constraint)
	return meta.Transactional
}
