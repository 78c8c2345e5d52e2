package sms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// DecodeSMS decodes and checks an sms.send payload.
func DecodeSMS(b []byte) (*provider.SMS, error) {
	var m provider.SMS
	if err := decodeSMSPayload(b, &m); err != nil {
		return nil, fmt.Errorf("invalid sms.send payload: %w", err)
	}
	switch {
	case !validE164(m.To):
		return nil, fmt.Errorf(`invalid sms.send payload: "to" must be an E.164 phone number, got %.40q`, m.To)
	case strings.TrimSpace(m.Body) == "":
		return nil, errors.New(`invalid sms.send payload: "body" is required`)
	case len([]rune(m.Body)) > 1600:
		return nil, errors.New(`invalid sms.send payload: "body" is longer than 1600 characters`)
	}
	return &m, nil
}

// decodeSMSPayload reads an sms.send payload into m, as strictly as the
// schema (symphony.validate_sms_payload) reads it: an object of "to", "from"
// and "body", each a string (or null, read as ""), each at most once, and
// nothing after it. It reads strings as encoding/json does, without its
// reflection (FuzzDecodeSMSOracle holds it to strictjson.Decode, which
// decodes the values with encoding/json).
func decodeSMSPayload(b []byte, m *provider.SMS) error {
	d := strictjson.NewScanner(b)
	if d.Peek() != '{' {
		return d.FailErr("must be a JSON object")
	}
	ok := d.Object(func(key string) (uint64, bool) {
		switch key {
		case "to":
			return 1 << 0, d.OptString(&m.To)
		case "from":
			return 1 << 1, d.OptString(&m.From)
		case "body":
			return 1 << 2, d.OptString(&m.Body)
		}
		return 0, false
	}) && d.End()
	if !ok {
		return d.Err()
	}
	return nil
}

// validE164 reports whether s matches ^\+[1-9][0-9]{6,14}$.
func validE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
