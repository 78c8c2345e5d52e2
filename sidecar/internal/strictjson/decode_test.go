package strictjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	Bucket string `json:"bucket"`
	Path   string `json:"path,omitempty"`
}

type Embedded struct {
	Note string `json:"note"`
}

type shape struct {
	Embedded
	Name    string            `json:"name"`
	Count   *int              `json:"count"`
	Tags    map[string]string `json:"tags"`
	Items   []inner           `json:"items"`
	One     *inner            `json:"one"`
	Raw     json.RawMessage   `json:"raw"`
	Any     any               `json:"any"`
	Bytes   []byte            `json:"bytes"`
	Skipped string            `json:"-"`
	Plain   bool
	hidden  int
}

// oracle decodes b as Decode promises to, with encoding/json: unknown fields
// and trailing data refused. It is laxer than Decode only in matching keys
// case-insensitively and letting a repeated key's last value win.
func oracle(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errTrailing
	}
	return nil
}

var errTrailing = &Error{Want: "trailing data"}

func TestDecode_StrictShape(t *testing.T) {
	t.Parallel()
	ok := []string{
		`{}`, `null`, ` {"name":"a","count":3,"tags":{"x":"1","x":"2"},"items":[{"bucket":"b"},null],"one":null} `,
		`{"raw":{"anything":[1,2,{"x":null}]},"any":{"k":[true,false,1.5e3]},"bytes":"AAE=","note":"n","Plain":true}`,
		`{"items":[]}`, `{"count":-12}`,
	}
	for _, s := range ok {
		var got, want shape
		if err := Decode([]byte(s), &got); err != nil {
			t.Errorf("Decode(%s): %v", s, err)
			continue
		}
		if err := oracle([]byte(s), &want); err != nil {
			t.Fatalf("oracle(%s): %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Decode(%s) = %+v, encoding/json %+v", s, got, want)
		}
	}
	bad := map[string]string{
		`{"nme":"a"}`:                         `unknown field "nme"`,
		`{"NAME":"a"}`:                        `unknown field "NAME"`,
		`{"plain":true}`:                      `unknown field "plain"`,
		`{"hidden":1}`:                        `unknown field "hidden"`,
		`{"Skipped":"x"}`:                     `unknown field "Skipped"`,
		`{"name":"a","name":"b"}`:             `repeated field "name"`,
		`{"items":[{"bucket":"b","x":1}]}`:    `"items[0]": unknown field "x"`,
		`{"one":{"bucket":"b","bucket":"c"}}`: `"one": repeated field "bucket"`,
		`{"name":"a"} {}`:                     "invalid character",
		`{"name":"a"}}`:                       "invalid character",
		`{"count":1.5}`:                       "json: cannot unmarshal",
		`{"count":01}`:                        "invalid character",
		`{"name":"a",}`:                       "invalid character",
		`{"any":[1,]}`:                        "invalid character",
		`["name"]`:                            "must be an object",
		`{"tags":{"k":{"x":1}}}`:              "json: cannot unmarshal",
	}
	for s, want := range bad {
		var v shape
		err := Decode([]byte(s), &v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want %q", s, err, want)
		}
	}
	if f, ok := UnknownField(Decode([]byte(`{"items":[{"bkt":"b"}]}`), &shape{})); !ok || f != "bkt" {
		t.Errorf("UnknownField = %q, %v; want bkt", f, ok)
	}
}

// FuzzDecodeOracle: what Decode reads, encoding/json reads alike; what
// encoding/json refuses, Decode refuses.
func FuzzDecodeOracle(f *testing.F) {
	for _, s := range []string{`{"name":"a","items":[{"bucket":"b"}],"tags":{"a":"b"}}`, `{"any":[1,"x",{"y":null}],"raw":3}`,
		`{"count":9223372036854775807}`, `{"Name":"x"}`, `{"bytes":"AA=="}`, `{"note":"\ud83d"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want shape
		gerr := Decode(b, &got)
		werr := oracle(b, &want)
		switch {
		case gerr == nil && werr != nil:
			t.Fatalf("Decode reads %q; encoding/json refuses it: %v", b, werr)
		case gerr == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("%q: Decode %+v, encoding/json %+v", b, got, want)
		}
	})
}
