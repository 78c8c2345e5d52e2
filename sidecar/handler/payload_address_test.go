package handler

import (
	"regexp"
	"strings"
	"testing"
)

// The regexps the hand-written matchers replace (the schema's patterns), kept
// as their oracle.
var (
	emailAddr = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
	mailbox   = regexp.MustCompile(`^[^<>\r\n]*<([^<>\s]+)>\s*$`)
	e164      = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// regexpValidAddress is validAddress as it was written with the regexps.
func regexpValidAddress(s string) bool {
	if m := mailbox.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	local, _, _ := strings.Cut(s, "@")
	return len(s) <= 254 && len(local) <= 64 && emailAddr.MatchString(s)
}

// addressCases are edge cases for the address matchers, with the verdict of
// validAddress; the test checks each one against the regexps too.
var addressCases = []struct {
	in   string
	want bool
}{
	{"", false},
	{"a@b.c", true},
	{"user1@example.com", true},
	{"first.last+tag@mail.example.co.uk", true},
	{"!#$%&'*+/=?^_`{|}~-@example.com", true},
	{"a@b", false},    // one label
	{"a@b.", false},   // empty last label
	{"a@.b.c", false}, // empty first label
	{"a@b..c", false}, // empty inner label
	{"@b.c", false},   // empty local part
	{"a@", false},
	{"a", false},
	{".a.@b.c", true}, // dots anywhere in the local part, as the schema allows
	{"a..b@b.c", true},
	{"a@-b.c", false}, // hyphen at a label's start
	{"a@b-.c", false}, // at a label's end
	{"a@b.c-", false},
	{"a@b.-c", false},
	{"a@b-b.c-c", true}, // inner hyphens
	{"a@b--b.c", true},
	{"a@1.2", true},    // digits-only labels
	{"a@b_c.d", false}, // underscore in the domain
	{"a@@b.c", false},  // multiple @
	{"a@b@c.d", false},
	{"a b@c.d", false}, // space in the local part
	{"a@b.c ", false},  // trailing space without a mailbox
	{" a@b.c", false},
	{"a@b.c\n", false}, // $ is the end of text, not before a final newline
	{"a@b.c\r\n", false},
	{"é@b.c", false},                  // unicode in the local part
	{"a@bé.c", false},                 // and in the domain
	{"a@xn--bcher-kva.example", true}, // punycode
	{"Name <a@b.c>", true},            // mailbox
	{"<a@b.c>", true},                 // empty display name
	{"Name <a@b.c>  \t\r\n\f", true},  // trailing \s after the mailbox
	{"Name <a@b.c> x", false},
	{"Name <a@b.c>\v", false}, // \v is not \s
	{"Name <a@b.c", false},
	{"Name a@b.c>", false},
	{"Name <>", false},
	{"Name <a@b.c>>", false},
	{"Na>me <a@b.c>", false},  // > in the display name
	{"Na\nme <a@b.c>", false}, // line break in the display name
	{"Na\rme <a@b.c>", false},
	{"Na\tme <a@b.c>", true}, // a tab is fine there
	{"Name <<a@b.c>", false},
	{"Name <a@b.c><x@y.z>", false},
	{"Name <a @b.c>", false}, // \s inside the brackets
	{"Name <a\t@b.c>", false},
	{"Zoë Ünïcode <a@b.c>", true}, // unicode display name
	{"\xff\xfe <a@b.c>", true},    // invalid UTF-8 in the display name
	{"Name <a\xff@b.c>", false},   // and in the address
	{"Name <bob>", false},         // a mailbox around a non-address
	{"a@b.c <x@y.z>", true},       // the mailbox wins
	{"x <a@b.c> <y@z.w>", false},
	{"Name <a@b.c> ", true},
	{strings.Repeat("a", 64) + "@b.c", true},
	{strings.Repeat("a", 65) + "@b.c", false},
	{"N <" + strings.Repeat("a", 64) + "@b.c>", true},
	{"N <" + strings.Repeat("a", 65) + "@b.c>", false},
	{"a@" + strings.Repeat("b", 247) + ".cc", true},     // 252 bytes
	{"aa@" + strings.Repeat("b", 247) + ".cc", true},    // 253
	{"aaa@" + strings.Repeat("b", 247) + ".cc", true},   // 254
	{"aaaa@" + strings.Repeat("b", 247) + ".cc", false}, // 255
	{strings.Repeat("N", 300) + " <a@b.c>", true},       // the display name does not count
}

func TestValidAddress_EdgeCases(t *testing.T) {
	t.Parallel()
	for _, c := range addressCases {
		if got := validAddress(c.in); got != c.want {
			t.Errorf("validAddress(%q) = %v, want %v", c.in, got, c.want)
		}
		if got := regexpValidAddress(c.in); got != c.want {
			t.Errorf("regexps on %q say %v, the table says %v", c.in, got, c.want)
		}
	}
}

func TestValidE164_EdgeCases(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "+", "+1", "+123456", "+1234567", "+0234567", "+123456789012345", "+1234567890123456",
		"14155550100", "+14155550100", "+14155550100\n", " +14155550100", "+1415555010a", "++14155550100", "+١٢٣٤٥٦٧٨"} {
		if got, want := validE164(s), e164.MatchString(s); got != want {
			t.Errorf("validE164(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

// FuzzAddressMatchers checks the hand-written matchers against the regexps
// they replace on any string.
func FuzzAddressMatchers(f *testing.F) {
	for _, c := range addressCases {
		f.Add(c.in)
	}
	f.Add("+14155550100")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validAddress(s), regexpValidAddress(s); got != want {
			t.Fatalf("validAddress(%q) = %v, the regexps say %v", s, got, want)
		}
		m := mailbox.FindStringSubmatch(s)
		if a, ok := mailboxAddress(s); ok != (m != nil) || ok && a != m[1] {
			t.Fatalf("mailboxAddress(%q) = %q, %v; the regexp says %q", s, a, ok, m)
		}
		if got, want := bareAddress(s), emailAddr.MatchString(s); got != want {
			t.Fatalf("bareAddress(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := validE164(s), e164.MatchString(s); got != want {
			t.Fatalf("validE164(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}
