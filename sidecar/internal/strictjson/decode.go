package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// Decode decodes the JSON text b into v the strict way: every object read
// into a struct has only keys the struct names (its fields' JSON names,
// matched exactly, not case-insensitively), each once, and nothing but white
// space follows the value. The shape is checked by the Scanner's object
// reader, the one the hand-written payload decoders use; the values are then
// decoded by encoding/json. Text that is not JSON at all gets encoding/json's
// error (a *json.SyntaxError), as callers that answer it apart expect; a
// shape the rules refuse gets an *Error.
func Decode(b []byte, v any) error {
	d := NewScanner(b)
	if !d.value(reflect.TypeOf(v)) || !d.End() {
		if !json.Valid(b) {
			return json.Unmarshal(b, v)
		}
		return d.Err()
	}
	return json.Unmarshal(b, v)
}

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value reads a value to be decoded into a t, checking the keys of the
// objects meant for structs; what encoding/json reads on its own (a type
// with its own UnmarshalJSON, an interface, a scalar) is only read over.
func (d *Scanner) value(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d.Null() {
		return true
	}
	if reflect.PointerTo(t).Implements(unmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return d.Skip()
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := fieldsOf(t)
		return d.Object(func(key string) (uint64, bool) {
			f, ok := fields[key]
			if !ok {
				return 0, false
			}
			return f.bit, d.value(f.typ)
		})
	case reflect.Map:
		return d.Members(func(key string, _ int) bool {
			return d.value(t.Elem()) || d.In("."+key)
		})
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return d.Skip() // base64 text
		}
		return d.elements(func(i int) bool { return d.value(t.Elem()) || d.In(Index(i)) })
	}
	return d.Skip()
}

// elements reads an array, calling element for each with the Scanner before
// it.
func (d *Scanner) elements(element func(i int) bool) bool {
	if !d.Consume('[') {
		return d.Fail("must be an array")
	}
	if d.Consume(']') {
		return true
	}
	for i := 0; ; i++ {
		if !element(i) {
			return false
		}
		more, ok := d.More(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// Skip reads over any one JSON value.
func (d *Scanner) Skip() bool {
	switch c := d.Peek(); {
	case c == '"':
		_, ok := d.Str()
		return ok
	case c == '{':
		return d.Members(func(string, int) bool { return d.Skip() })
	case c == '[':
		return d.elements(func(int) bool { return d.Skip() })
	case c == '-' || '0' <= c && c <= '9':
		return d.anyNumber() || d.Fail("is not a valid number")
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(d.s[d.i:], lit) {
			d.i += len(lit)
			return true
		}
	}
	return d.Fail("want a JSON value")
}

// anyNumber reads a JSON number, whole or not.
func (d *Scanner) anyNumber() bool {
	start := d.i
	if !d.number() {
		// A fraction or an exponent follows the integer part.
		d.i = start
		if d.i < len(d.s) && d.s[d.i] == '-' {
			d.i++
		}
		if d.i < len(d.s) && d.s[d.i] == '0' {
			d.i++
		} else if !d.digits() {
			return false
		}
		if d.i < len(d.s) && d.s[d.i] == '.' {
			d.i++
			if !d.digits() {
				return false
			}
		}
		if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
			d.i++
			if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
				d.i++
			}
			if !d.digits() {
				return false
			}
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (d *Scanner) digits() bool {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// field is one JSON field of a struct.
type field struct {
	bit uint64
	typ reflect.Type
}

var structFields sync.Map // reflect.Type → map[string]field

// fieldsOf returns the JSON fields of struct type t by name, as
// encoding/json names them: the tag's name, else the Go name; "-" and
// unexported fields left out; an untagged embedded struct's fields promoted.
// A struct of more than 64 fields is not supported (it panics).
func fieldsOf(t reflect.Type) map[string]field {
	if f, ok := structFields.Load(t); ok {
		return f.(map[string]field)
	}
	out := map[string]field{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for _, sf := range reflect.VisibleFields(t) {
			if len(sf.Index) > 1 {
				continue // promoted: added with its embedded struct below
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			ft := sf.Type
			if sf.Anonymous && name == "" {
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft)
					continue
				}
			}
			if !sf.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if len(out) == 64 {
				panic("strictjson: more than 64 fields in " + t.String())
			}
			out[name] = field{bit: 1 << len(out), typ: sf.Type}
		}
	}
	add(t)
	structFields.Store(t, out)
	return out
}
