// Package strictjson decodes one JSON value the strict way: a field the
// target does not know is an error, and so is anything but white space after
// the value. The sidecar decodes payloads so; the provider fakes decode
// requests so, to refuse what a vendor's API does not describe.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Decode decodes b into v, refusing unknown fields and trailing data.
func Decode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
