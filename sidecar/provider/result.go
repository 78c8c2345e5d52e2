package provider

import (
	"encoding/json"
	"fmt"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// SendOf is the Send of m's attempt under which a provider is called, for a
// database whose installation id is namespace.
func SendOf(namespace string, m *msgtype.Message) Send {
	return Send{Namespace: namespace, MessageID: m.ID, Attempt: m.Attempt}
}

// Result is what is stored as the result of m's send that r answered. It
// says when the recipient may have received the message twice: an earlier
// attempt may have reached a provider that does not deduplicate retries, or went out under a key this one did not carry (a
// batch that could not be repeated). At-least-once, never silently more.
func (r Receipt) Result(m *msgtype.Message, sender any) (json.RawMessage, error) {
	if (m.MaybeSentBefore && !RetriesAreIdempotent(sender)) || m.DuplicateRisk {
		r.PossibleDuplicate = true
	}
	if b, ok := appendReceipt(make([]byte, 0, 80+len(r.Provider)+len(r.MessageID)+len(r.Status)), r); ok {
		return b, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		// The call succeeded: failing now would send again. Keep what we know.
		return json.RawMessage(fmt.Sprintf(`{"provider":%q,"provider_message_id":%q}`, r.Provider, r.MessageID)), nil
	}
	return b, nil
}

// appendReceipt appends r as json.Marshal writes it, without reflection, when
// that is simple: no Extra, and strings of printable ASCII that JSON does not
// escape (json.Marshal escapes <, > and & too). ok is false otherwise.
func appendReceipt(b []byte, r Receipt) (_ []byte, ok bool) {
	if len(r.Extra) > 0 || !plainJSON(r.Provider) || !plainJSON(r.MessageID) || !plainJSON(r.Status) {
		return b, false
	}
	b = append(b, `{"provider":"`...)
	b = append(b, r.Provider...)
	b = append(b, '"')
	if r.MessageID != "" {
		b = append(b, `,"provider_message_id":"`...)
		b = append(b, r.MessageID...)
		b = append(b, '"')
	}
	if r.Status != "" {
		b = append(b, `,"status":"`...)
		b = append(b, r.Status...)
		b = append(b, '"')
	}
	if r.PossibleDuplicate {
		b = append(b, `,"possible_duplicate":true`...)
	}
	return append(b, '}'), true
}

// plainJSON reports whether json.Marshal writes s as it is, between quotes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
