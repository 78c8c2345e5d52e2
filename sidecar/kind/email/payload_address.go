package email

import (
	"strings"
	"unicode/utf8"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// The address shapes the schema enforces at dispatch (symphony.email_address
// and validate_sms_payload), parsed again here by hand: a regexp costs about
// a microsecond an address and every send parses several. Each matcher
// accepts exactly the strings of the regexp quoted above it; the regexps live
// on in payload_address_test.go as the oracle of a differential fuzz test,
// which also checks that net/mail reads every accepted mailbox as one address
// with the same name (docs/providers.md, "Addresses and fields").

// parseMailbox parses s, an address or a display name and <address>, as
//
//	^[ \t]*(?:"(Q*)"|(U*))[ \t]*<([^<>]*)>[ \t]*$
//
// where Q is a quoted name's character (printable but " \ < >, or a space or
// a tab) and U an unquoted name's (ASCII atext, a dot, a space or a tab);
// both include every rune from U+00A0 up but U+2028 and U+2029. The address
// (the whole of s when it has no angle brackets) must be a bareAddress of at
// most 254 bytes with at most 64 before the @. An unquoted name's words are
// joined by single spaces, as net/mail reads them.
func parseMailbox(s string) (provider.Address, bool) {
	a := provider.Address{Email: s}
	if strings.IndexByte(s, '<') >= 0 {
		var ok bool
		if a.Name, a.Email, ok = angleMailbox(s); !ok {
			return a, false
		}
	}
	local, _, _ := strings.Cut(a.Email, "@")
	return a, len(a.Email) <= 254 && len(local) <= 64 && bareAddress(a.Email)
}

// validAddress reports whether parseMailbox accepts s.
func validAddress(s string) bool {
	_, ok := parseMailbox(s)
	return ok
}

// angleMailbox splits a display name and <address> (parseMailbox's regexp
// but for the address's own shape).
func angleMailbox(s string) (name, addr string, ok bool) {
	i := skipBlanks(s, 0)
	if i < len(s) && s[i] == '"' {
		end := scanName(s, i+1, &quotedChar)
		if end == len(s) || s[end] != '"' {
			return "", "", false
		}
		name, i = s[i+1:end], skipBlanks(s, end+1)
	} else {
		end := scanName(s, i, &unquotedChar)
		name, i = joinWords(s[i:end]), end
	}
	if i == len(s) || s[i] != '<' {
		return "", "", false
	}
	gt := strings.IndexAny(s[i+1:], "<>")
	if gt < 0 || s[i+1+gt] != '>' {
		return "", "", false
	}
	addr = s[i+1 : i+1+gt]
	if skipBlanks(s, i+2+gt) != len(s) {
		return "", "", false
	}
	return name, addr, true
}

// skipBlanks returns the index of the first byte from i on that is not a
// space or a tab.
func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanName returns the index of the first rune from i on that class
// refuses: ASCII by the table, the rest by nameRune. An invalid byte reads
// as U+FFFD, as in the regexp.
func scanName(s string, i int, class *[utf8.RuneSelf]bool) int {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if !class[c] {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !nameRune(r) {
			break
		}
		i += size
	}
	return i
}

// joinWords returns the words of an unquoted name joined by single spaces.
func joinWords(s string) string {
	s = strings.Trim(s, " \t")
	if !strings.Contains(s, "  ") && !strings.ContainsRune(s, '\t') {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
}

// quotedChar marks the ASCII characters of a quoted name: a space, a tab,
// and printable ASCII but " \ < >.
var quotedChar = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>'
	}
	t['\t'] = true
	return t
}()

// unquotedChar marks the ASCII characters of an unquoted name: atext, a dot,
// a space or a tab.
var unquotedChar = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = localChar[c] // atext and the dot
	}
	t[' '], t['\t'] = true, true
	return t
}()

// nameRune is a non-ASCII rune a display name may hold: not a C1 control,
// and not a line or paragraph separator.
func nameRune(r rune) bool {
	return r >= 0xa0 && r != 0x2028 && r != 0x2029
}

// bareAddress reports whether s matches
//
//	^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$
//
// that is: a local part of atext words joined by single dots, one @, and at
// least two dot-separated labels of letters, digits and inner hyphens.
func bareAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || s[0] == '.' || s[at-1] == '.' {
		return false
	}
	for i := 0; i < at; i++ {
		if !localChar[s[i]] || s[i] == '.' && s[i+1] == '.' {
			return false
		}
	}
	labels, start := 0, at+1
	for i := start; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if !alnum(s[i]) && s[i] != '-' {
				return false
			}
			continue
		}
		// s[start:i] is a label: not empty, no hyphen at either end.
		if i == start || s[start] == '-' || s[i-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	return labels >= 2
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// localChar is the class of the local part: atext and the dot.
var localChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = alnum(byte(c))
	}
	for _, c := range []byte(".!#$%&'*+/=?^_`{|}~-") {
		t[c] = true
	}
	return t
}()
