package strictjson

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner reads JSON text for a hand-written decoder of one known shape
// (the email.send and sms.send payloads), and for Decode.
// Every method either consumes what it was asked for, reading values exactly
// as encoding/json would, or reports false. The first failure records what
// was wanted and where (fail); as it unwinds, each enclosing field and array
// element adds its name to the path, so err words it once, at the end:
// `"attachments[0].storage": must be an object (byte 93)`.
//
// The text is one string, copied once from the payload: a decoded string
// without escapes is a substring of it rather than an allocation of its own.
// Such substrings keep the whole text alive, which costs nothing here: a
// payload lives as long as the send that decoded it.
type Scanner struct {
	s       string
	i       int
	want    string // what the first failure wanted; "" until one
	at      int    // where it was, in bytes
	path    string // the fields and elements it was in, innermost last: .a[0].b
	unknown string // the unknown field the first failure was, if it was one
}

// NewScanner returns a Scanner of b.
func NewScanner(b []byte) *Scanner { return &Scanner{s: string(b)} }

// Error is what reading stopped at: `"attachments[0].storage": must be an
// object (byte 93)`.
type Error struct {
	Path    string // the field or element, as attachments[0].storage; "" for the value itself
	Want    string // what was wanted there
	Offset  int    // in bytes
	Unknown string // the field's name when the failure was a field the shape does not know
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s (byte %d)", e.Want, e.Offset)
	}
	return fmt.Sprintf("%s: %s (byte %d)", strconv.Quote(e.Path), e.Want, e.Offset)
}

// UnknownField returns the name of the unknown field err is about, if it is
// about one.
func UnknownField(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) && e.Unknown != "" {
		return e.Unknown, true
	}
	return "", false
}

// Fail records want at the current position unless a failure is recorded
// already, and reports false.
func (d *Scanner) Fail(want string) bool {
	return d.FailAt(d.i, want)
}

// FailAt is fail at byte at.
func (d *Scanner) FailAt(at int, want string) bool {
	if d.want == "" {
		d.want, d.at = want, at
	}
	return false
}

// In adds a field (".name") or an element ("[i]") to the failure's path, as
// the failure unwinds out of it, and reports false.
func (d *Scanner) In(segment string) bool {
	d.path = segment + d.path
	return false
}

// Err is the recorded failure.
func (d *Scanner) Err() error {
	e := &Error{Want: d.want, Offset: d.at, Unknown: d.unknown}
	if d.path != "" {
		e.Path = d.path[1:]
	}
	return e
}

// FailErr records want and returns the error.
func (d *Scanner) FailErr(want string) error {
	d.Fail(want)
	return d.Err()
}

// Index is an element's path segment.
func Index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// space skips JSON whitespace.
func (d *Scanner) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// Peek returns the next byte after whitespace, or 0 at the end.
func (d *Scanner) Peek() byte {
	d.space()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// Consume reads c after whitespace, and reports false (recording nothing) if
// c is not next.
func (d *Scanner) Consume(c byte) bool {
	if d.Peek() != c {
		return false
	}
	d.i++
	return true
}

// Null reads the literal null after whitespace, and reports false (recording
// nothing) if it is not next.
func (d *Scanner) Null() bool {
	if d.Peek() != 'n' || len(d.s)-d.i < 4 || d.s[d.i:d.i+4] != "null" {
		return false
	}
	d.i += 4
	return true
}

// End reads the whitespace after the value, all that may be left.
func (d *Scanner) End() bool {
	d.space()
	return d.i == len(d.s) || d.Fail("trailing data after the JSON object")
}

// More reads what follows an element of an object or an array closed by
// closer: true after a comma, false after closer; ok is false otherwise.
func (d *Scanner) More(closer byte) (more, ok bool) {
	switch d.Peek() {
	case ',':
		d.i++
		return true, true
	case closer:
		d.i++
		return false, true
	}
	return false, d.Fail(`want "," or "` + string(closer) + `"`)
}

// plain marks the bytes a string holds as they are: not a quote, a
// backslash, a control character or the start of a multi-byte sequence.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Str reads a string literal after whitespace and returns its value as
// encoding/json decodes it: escapes resolved, a lone or mismatched surrogate
// and each byte of invalid UTF-8 replaced by U+FFFD. Anything but a string,
// a raw control character, a bad escape or a missing closing quote fails.
func (d *Scanner) Str() (string, bool) {
	if d.Peek() != '"' {
		return "", d.Fail("must be a string")
	}
	start := d.i + 1
	i := start
	for i < len(d.s) {
		c := d.s[i]
		if plain[c] {
			i++
			continue
		}
		if c == '"' {
			d.i = i + 1
			return d.s[start:i], true
		}
		if c < utf8.RuneSelf {
			break // a backslash or a control character
		}
		r, size := utf8.DecodeRuneInString(d.s[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	return d.unquote(start, i)
}

// unquote finishes str the slow way: the string started at start and has no
// escapes or bad bytes before i.
func (d *Scanner) unquote(start, i int) (string, bool) {
	var b strings.Builder // its String does not copy
	b.Grow(i - start + 32)
	b.WriteString(d.s[start:i])
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return b.String(), true
		case c < ' ':
			return "", d.FailAt(i, "must escape its control characters")
		case c == '\\':
			if i+1 >= len(d.s) {
				return "", d.Fail("is a string with no closing quote")
			}
			i += 2
			switch d.s[i-1] {
			case '"', '\\', '/':
				b.WriteByte(d.s[i-1])
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r := hex4(d.s[i:])
				if r < 0 {
					return "", d.FailAt(i-2, `has a bad \u escape`)
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A pair when the next escape completes it; otherwise
					// U+FFFD, and that escape is read on its own.
					r2 := rune(-1)
					if len(d.s)-i >= 6 && d.s[i] == '\\' && d.s[i+1] == 'u' {
						r2 = hex4(d.s[i+2:])
					}
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						r = pair
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b.WriteRune(r)
			default:
				return "", d.FailAt(i-2, "has a bad escape")
			}
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(d.s) && plain[d.s[j]] {
				j++
			}
			b.WriteString(d.s[i:j])
			i = j
		default:
			r, size := utf8.DecodeRuneInString(d.s[i:])
			b.WriteRune(r) // U+FFFD for each invalid byte
			i += size
		}
	}
	return "", d.Fail("is a string with no closing quote")
}

// hex4 returns the value of the four hex digits s starts with, or -1.
func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
