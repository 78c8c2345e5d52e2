package handler

import "strings"

// The address shapes the schema enforces at dispatch (symphony.email_address
// and validate_sms_payload), checked again here by hand: a regexp costs about
// a microsecond an address and every send checks several. Each matcher
// accepts exactly the strings of the regexp quoted above it; the regexps live
// on in payload_address_test.go as the oracle of a differential fuzz test.

// validAddress reports whether s is "a@b.c" or "Name <a@b.c>", with at most
// 254 bytes in the address and 64 in its local part.
func validAddress(s string) bool {
	if a, ok := mailboxAddress(s); ok {
		s = a
	}
	local, _, _ := strings.Cut(s, "@")
	return len(s) <= 254 && len(local) <= 64 && bareAddress(s)
}

// mailboxAddress returns the address inside "Name <address>", as
//
//	^[^<>\r\n]*<([^<>\s]+)>\s*$
//
// where \s is [\t\n\f\r ]. Every byte the classes name is ASCII, so a byte
// scan agrees with the regexp's rune scan on any input, even invalid UTF-8.
func mailboxAddress(s string) (string, bool) {
	open := strings.IndexByte(s, '<')
	if open < 0 || strings.ContainsAny(s[:open], ">\r\n") {
		return "", false
	}
	end := open + 1
	for end < len(s) && s[end] != '<' && s[end] != '>' && !regexpSpace(s[end]) {
		end++
	}
	if end == open+1 || end == len(s) || s[end] != '>' {
		return "", false
	}
	for i := end + 1; i < len(s); i++ {
		if !regexpSpace(s[i]) {
			return "", false
		}
	}
	return s[open+1 : end], true
}

// regexpSpace is the regexp class \s.
func regexpSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// bareAddress reports whether s matches
//
//	^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$
//
// that is: a non-empty local part of atext and dots, one @, and at least two
// dot-separated labels of letters, digits and inner hyphens.
func bareAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 {
		return false
	}
	for i := 0; i < at; i++ {
		if !localChar[s[i]] {
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
