package fakehttp

import (
	"net/mail"

	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
)

// DecodeStrict decodes the JSON object body into v, refusing a field v does
// not know: a fake describes every field of the vendor's request, so an
// unknown one is a misspelling the vendor would ignore or refuse, and a test
// must not pass with it.
func DecodeStrict(body []byte, v any) error { return strictjson.Decode(body, v) }

// UnknownField returns the field a DecodeStrict error is about, when it
// refused a field v does not know.
func UnknownField(err error) (string, bool) { return strictjson.UnknownField(err) }

// Mailbox parses s as one RFC 5322 mailbox, "address" or "Name <address>",
// as the vendors' parsers read one; a list, a group or anything after it is
// refused.
func Mailbox(s string) (*mail.Address, bool) {
	a, err := mail.ParseAddress(s)
	return a, err == nil
}

// BareAddress reports whether s is an email address alone, with no name or
// brackets: what a vendor's "format: email" field takes.
func BareAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
