package strictjson

import (
	"encoding/json"
	"testing"
)

// compareString fails t unless Scanner.Str reads the JSON text s as
// encoding/json does: the same value when it reads it, and only text that
// encoding/json refuses when it does not (Str may refuse nothing valid).
func compareString(t *testing.T, s string) {
	t.Helper()
	var want string
	werr := json.Unmarshal([]byte(s), &want)
	d := Scanner{s: s}
	if d.Peek() != '"' && werr == nil {
		return // null, which Str is not asked to read
	}
	got, ok := d.Str()
	ok = ok && d.End()
	switch {
	case ok && werr != nil:
		t.Fatalf("Str reads %q as %q; encoding/json refuses it: %v", s, got, werr)
	case !ok && werr == nil:
		t.Fatalf("Str refuses %q; encoding/json reads %q", s, want)
	case ok && got != want:
		t.Fatalf("Str reads %q as %q; encoding/json as %q", s, got, want)
	}
}

var jsonStrings = []string{
	`""`, `"abc"`, ` "a" `, `"a`, `"`, `a"`, `"a" "b"`, `"\"\\\/\b\f\n\r\t"`, `"\'"`, `"\a"`, `"\"`, `"\`,
	`"\u0041\u00e9\u20AC\uFFFF\u0000"`, `"\u004"`, `"\u004g"`, `"\U0041"`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ude00\ud83d"`, `"\ud83d\ud83d\ude00"`,
	`"\ud83d\ude0"`, `"\ud83d\"`, `"\ud83d\n"`, `"\uDBFF\uDFFF"`, `"\uD800\uDBFF"`,
	"\"raw\ttab\"", "\"raw\nline\"", "\"\x7f\"", "\"\x1f\"",
	"\"Zoë 👋 €\"", "\"\xff\"", "\"\xc3\"", "\"a\xc3(b\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xef\xbf\xbd\"",
	"\"\xf0\x9f\x98\"", "\"\\n\xff\\u00e9\xe2\x82\"",
}

func TestScanner_StringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range jsonStrings {
		compareString(t, s)
	}
}

// FuzzScannerString: Str and encoding/json read every string alike.
func FuzzScannerString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Add(`null`)
	f.Fuzz(compareString)
}
