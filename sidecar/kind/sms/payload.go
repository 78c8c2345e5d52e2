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
	if err := strictjson.Decode(b, &m); err != nil {
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
