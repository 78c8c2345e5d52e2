package email

import (
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// The regexps the hand-written matchers replace (the schema's patterns), kept
// as their oracle.
var (
	emailAddr = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
	mailbox   = regexp.MustCompile(`^[ \t]*(?:"([ \t!#-;=?-\[\]-~\x{a0}-\x{2027}\x{202a}-\x{10ffff}]*)"|([A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~. \t\x{a0}-\x{2027}\x{202a}-\x{10ffff}-]*))[ \t]*<([^<>]*)>[ \t]*$`)
	blanks    = regexp.MustCompile(`[ \t]+`)
)

// regexpParseMailbox is parseMailbox as written with the regexps.
func regexpParseMailbox(s string) (provider.Address, bool) {
	a := provider.Address{Email: s}
	if strings.Contains(s, "<") {
		m := mailbox.FindStringSubmatchIndex(s)
		if m == nil {
			return a, false
		}
		if m[2] >= 0 {
			a.Name = s[m[2]:m[3]]
		} else if words := strings.Trim(s[m[4]:m[5]], " \t"); words != "" {
			a.Name = strings.Join(blanks.Split(words, -1), " ")
		}
		a.Email = s[m[6]:m[7]]
	}
	local, _, _ := strings.Cut(a.Email, "@")
	return a, len(a.Email) <= 254 && len(local) <= 64 && emailAddr.MatchString(a.Email)
}

// regexpValidAddress is validAddress as written with the regexps.
func regexpValidAddress(s string) bool {
	_, ok := regexpParseMailbox(s)
	return ok
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
	{".a@b.c", false}, // the local part is a dot-atom: no dot at either end
	{"a.@b.c", false},
	{"a..b@b.c", false}, // or two in a row
	{"a.b.c@b.c", true},
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
	{" \t<a@b.c> \t", true},           // spaces and tabs around it
	{"Name <a@b.c> x", false},
	{"Name <a@b.c>\r\n", false}, // no line break after the closing >
	{"Name <a@b.c>\n", false},
	{"Name <a@b.c>\f", false}, // nor any other white space but a space or a tab
	{"Name <a@b.c>\v", false},
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
	{"Name <a @b.c>", false}, // white space inside the brackets
	{"Name <a\t@b.c>", false},
	{"Zoë Ünïcode 👋 <a@b.c>", true}, // unicode display name
	{"Zo\u2028ë <a@b.c>", false},    // but no line separator
	{"Zo\u2029ë <a@b.c>", false},    // paragraph separator
	{"Zo\u0085ë <a@b.c>", false},    // NEL, or any C1 control
	{"\xff\xfe <a@b.c>", true},      // invalid UTF-8 reads as U+FFFD
	{"Name <a\xff@b.c>", false},     // and in the address
	{"Name <bob>", false},           // a mailbox around a non-address
	{"a@b.c <x@y.z>", false},        // an @ in an unquoted name
	{"Doe, John <a@b.c>", false},    // a comma in an unquoted name
	{"v@x.test, s@y.test <ok@z.test>", false},
	{"Doe; John <a@b.c>", false}, // and the other specials
	{"Doe: John <a@b.c>", false},
	{"Doe (John) <a@b.c>", false},
	{"Doe [John] <a@b.c>", false},
	{"Doe \\ John <a@b.c>", false},
	{`Doe "John" <a@b.c>`, false}, // a name is words or one quoted string
	{`"Doe" John <a@b.c>`, false},
	{`"Doe, John" <a@b.c>`, true}, // quoted, a comma or an @ is a name
	{`"v@x.test, s@y.test" <ok@z.test>`, true},
	{`"" <a@b.c>`, true},
	{`  "Doe, John"  <a@b.c>  `, true},
	{`"Doe <x@y.z>" <a@b.c>`, false}, // angle brackets even quoted
	{`"Doe \"J\"" <a@b.c>`, false},   // no quoted pairs
	{`"Doe \\ J" <a@b.c>`, false},
	{`"Doe <a@b.c>`, false},
	{"John Q. Public <a@b.c>", true}, // dots in words
	{"O'Brien <a@b.c>", true},
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

// TestParseMailbox_Names: an unquoted name's words are joined by single
// spaces; a quoted name is kept as written.
func TestParseMailbox_Names(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]provider.Address{
		"a@b.c":                        {Email: "a@b.c"},
		" <a@b.c>":                     {Email: "a@b.c"},
		"  John \t Q.  Public <a@b.c>": {Name: "John Q. Public", Email: "a@b.c"},
		`"Doe,  John " <a@b.c>`:        {Name: "Doe,  John ", Email: "a@b.c"},
		"Zoë <Z@B.c>":                  {Name: "Zoë", Email: "Z@B.c"},
	} {
		if got, ok := parseMailbox(in); !ok || got != want {
			t.Errorf("parseMailbox(%q) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
}

// FuzzAddressMatchers checks the hand-written matchers against the regexps
// they replace on any string, and every mailbox they accept against net/mail:
// one address, the same name and address, and provider.Address.String reads
// back as the same mailbox.
func FuzzAddressMatchers(f *testing.F) {
	for _, c := range addressCases {
		f.Add(c.in)
	}
	f.Add("+14155550100")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseMailbox(s)
		want, wantOK := regexpParseMailbox(s)
		if ok != wantOK || ok && got != want {
			t.Fatalf("parseMailbox(%q) = %+v, %v; the regexps say %+v, %v", s, got, ok, want, wantOK)
		}
		if got, want := bareAddress(s), emailAddr.MatchString(s); got != want {
			t.Fatalf("bareAddress(%q) = %v, the regexp says %v", s, got, want)
		}
		if !ok || !utf8.ValidString(s) || strings.Contains(s, "=?") {
			return // net/mail refuses invalid UTF-8, and decodes RFC 2047 words in names
		}
		for _, text := range []string{s, got.String()} {
			m, err := mail.ParseAddress(text)
			if err != nil || m.Address != got.Email || m.Name != got.Name {
				t.Fatalf("net/mail reads %q as %+v, %v; parseMailbox(%q) = %+v", text, m, err, s, got)
			}
		}
	})
}
