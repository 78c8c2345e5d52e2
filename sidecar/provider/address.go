package provider

import "strings"

// Address is one mailbox of an Email: Email is the bare address
// ("ada@example.com"), Name the display name, empty when there is none.
// handler.DecodeEmail parses them once; each provider then sends both in its
// own format, so that none of them parses a mailbox again.
type Address struct {
	Name  string
	Email string
}

// String formats a as an RFC 5322 mailbox, for providers that take one as
// text: the bare address without a name; otherwise the name, quoted unless
// it is words of ASCII letters, digits and atext symbols, then <address>.
// Quoting keeps a comma or an @ in a name from reading as another mailbox.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	if plainName(a.Name) {
		return a.Name + " <" + a.Email + ">"
	}
	var b strings.Builder
	b.Grow(len(a.Name) + len(a.Email) + 5)
	b.WriteByte('"')
	for i := 0; i < len(a.Name); i++ {
		if c := a.Name[i]; c == '"' || c == '\\' {
			b.WriteByte('\\') // never in a decoded name; kept safe for any other
		}
		b.WriteByte(a.Name[i])
	}
	b.WriteString(`" <`)
	b.WriteString(a.Email)
	b.WriteByte('>')
	return b.String()
}

// MarshalText makes an Address a JSON string, as the payload wrote it.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// plainName reports whether name is RFC 5322 atoms separated by single
// spaces, which a mailbox may carry unquoted.
func plainName(name string) bool {
	if name[0] == ' ' || name[len(name)-1] == ' ' || strings.Contains(name, "  ") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != ' ' && !atext(c) {
			return false
		}
	}
	return true
}

// atext is RFC 5322's atext, ASCII only.
func atext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// Emails returns the bare addresses of list.
func Emails(list []Address) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Email
	}
	return out
}
