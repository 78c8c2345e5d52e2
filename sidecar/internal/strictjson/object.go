package strictjson

import (
	"strconv"
)

// Members reads an object, calling member for each name with the Scanner
// before the value, which member must read (reporting false if it could
// not). It is the one reader of JSON objects here: Object adds the rule that
// names are known and appear once.
func (d *Scanner) Members(member func(name string, at int) bool) bool {
	if !d.Consume('{') {
		return d.Fail("must be an object")
	}
	if d.Consume('}') {
		return true
	}
	for {
		if d.Peek() != '"' {
			return d.Fail(`want a field name in quotes`)
		}
		at := d.i
		name, ok := d.Str()
		if !ok {
			return false
		}
		if !d.Consume(':') {
			return d.Fail(`want ":"`)
		}
		if !member(name, at) {
			return false
		}
		more, ok := d.More('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// Object reads an object whose every key field knows, each at most once
// (encoding/json would match "TO" or even "ſubject" and let a repeated key's
// last value win; the schema refuses a key it does not list, and jsonb keeps
// one value per key). field reads the key's value and names the key by a bit
// of its own, so that a repeated key fails; bit 0, for a key field does not
// know, fails too.
func (d *Scanner) Object(field func(key string) (bit uint64, ok bool)) bool {
	var seen uint64
	return d.Members(func(key string, at int) bool {
		bit, ok := field(key)
		switch {
		case bit == 0:
			if d.want == "" {
				d.unknown = key
			}
			return d.FailAt(at, "unknown field "+strconv.Quote(key))
		case !ok:
			return d.In("." + key)
		case seen&bit != 0:
			return d.FailAt(at, "repeated field "+strconv.Quote(key))
		}
		seen |= bit
		return true
	})
}

// OptString reads a string or null (which leaves *dst as it is).
func (d *Scanner) OptString(dst *string) bool {
	if d.Null() {
		return true
	}
	s, ok := d.Str()
	*dst = s
	return ok
}

// Int reads a whole number that fits in 64 bits, as encoding/json reads one
// into an int64 (no fraction or exponent), or null (which leaves *dst as it
// is). set reports whether a number was read.
func (d *Scanner) Int(dst *int64) (set, ok bool) {
	if d.Null() {
		return false, true
	}
	start := d.i
	if !d.number() {
		return false, d.FailAt(start, "must be a whole number")
	}
	n, err := strconv.ParseInt(d.s[start:d.i], 10, 64)
	if err != nil {
		return false, d.FailAt(start, "must be a whole number")
	}
	*dst = n
	return true, true
}

// number reads a JSON number after whitespace, reporting whether it is a
// whole one; it reads nothing if none is next.
func (d *Scanner) number() bool {
	d.space()
	i := d.i
	if i < len(d.s) && d.s[i] == '-' {
		i++
	}
	switch {
	case i < len(d.s) && d.s[i] == '0':
		i++
	case i < len(d.s) && '1' <= d.s[i] && d.s[i] <= '9':
		for i < len(d.s) && '0' <= d.s[i] && d.s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(d.s) && (d.s[i] == '.' || d.s[i] == 'e' || d.s[i] == 'E') {
		return false
	}
	d.i = i
	return true
}
