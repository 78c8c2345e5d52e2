package provider_test

import (
	"encoding/json"
	"net/mail"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// TestAddress_String: a name is quoted unless it is plain atoms, so that no
// comma, @ or dot in it reads as syntax; net/mail reads every form back as
// the one mailbox it came from.
func TestAddress_String(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a    provider.Address
		want string
	}{
		{provider.Address{Email: "a@b.test"}, "a@b.test"},
		{provider.Address{Name: "Ada Lovelace", Email: "a@b.test"}, "Ada Lovelace <a@b.test>"},
		{provider.Address{Name: "O'Brien", Email: "a@b.test"}, "O'Brien <a@b.test>"},
		{provider.Address{Name: "Doe, John", Email: "a@b.test"}, `"Doe, John" <a@b.test>`},
		{provider.Address{Name: "v@x.test, s@y.test", Email: "ok@z.test"}, `"v@x.test, s@y.test" <ok@z.test>`},
		{provider.Address{Name: "John Q. Public", Email: "a@b.test"}, `"John Q. Public" <a@b.test>`},
		{provider.Address{Name: "Zoë", Email: "a@b.test"}, `"Zoë" <a@b.test>`},
		{provider.Address{Name: " padded  name ", Email: "a@b.test"}, `" padded  name " <a@b.test>`},
		{provider.Address{Name: `say "hi" \ bye`, Email: "a@b.test"}, `"say \"hi\" \\ bye" <a@b.test>`},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("%+v.String() = %s, want %s", c.a, got, c.want)
		}
		m, err := mail.ParseAddress(c.a.String())
		if err != nil || m.Name != c.a.Name || m.Address != c.a.Email {
			t.Errorf("net/mail reads %s as %+v, %v; want %+v", c.a, m, err, c.a)
		}
		if list, err := mail.ParseAddressList(c.a.String() + ", x@y.test"); err != nil || len(list) != 2 {
			t.Errorf("net/mail reads %s in a list as %v, %v; want it and one more", c.a, list, err)
		}
	}
	b, err := json.Marshal([]provider.Address{{Name: "Doe, John", Email: "a@b.test"}})
	if err != nil || string(b) != `["\"Doe, John\" \u003ca@b.test\u003e"]` {
		t.Errorf("JSON %s, %v", b, err)
	}
}
