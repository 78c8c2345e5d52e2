package email

import (
	"strings"
	"testing"
)

func TestDecodeEmail_Valid(t *testing.T) {
	t.Parallel()
	e, _, err := DecodeEmail([]byte(`{"to":["a@example.com","Bo <b@example.com>"],"from":"Me <me@example.com>",
		"subject":"hi","html":"<p>x</p>","tags":{"campaign":"c1"},
		"attachments":[{"filename":"a.txt","content":"aGVsbG8="}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.To) != 2 || e.HTML != "<p>x</p>" || string(e.Attachments[0].Content) != "hello" || e.Tags["campaign"] != "c1" {
		t.Fatalf("decoded %+v", e)
	}
	one, _, err := DecodeEmail([]byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}`))
	if err != nil || len(one.To) != 1 {
		t.Fatalf("single address: %v %+v", err, one)
	}
}

// An optional address list given as null is no list, as the schema's check at
// dispatch reads it: such a payload was accepted there and then died here. The
// second payload is compact text rather than jsonb's.
func TestDecodeEmail_NullAddressListsAreAbsent(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"cc": null, "to": "a@example.com", "bcc": null, "from": "me@example.com", "text": "t", "subject": "s", "reply_to": null}`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","cc":null,"bcc":null,"reply_to":null}`,
	} {
		e, _, err := DecodeEmail([]byte(in))
		if err != nil {
			t.Fatalf("DecodeEmail(%s): %v", in, err)
		}
		if e.Cc != nil || e.Bcc != nil || e.ReplyTo != nil || len(e.To) != 1 {
			t.Fatalf("DecodeEmail(%s) = cc %q, bcc %q, reply_to %q, to %q", in, e.Cc, e.Bcc, e.ReplyTo, e.To)
		}
	}
	if _, _, err := DecodeEmail([]byte(`{"to": null, "from": "me@example.com", "text": "t", "subject": "s"}`)); err == nil ||
		!strings.Contains(err.Error(), `"to" is required`) {
		t.Fatalf(`"to": null: %v, want "to" is required`, err)
	}
}

func TestDecodeEmail_Invalid(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`not json`: "must be a JSON object",
		`{"to":"a@example.com","from":"me@example.com","subject":"s"}`:                                                               `"html" or "text"`,
		`{"to":"bob","from":"me@example.com","subject":"s","text":"t"}`:                                                              `"to" is not an email address`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","txt":"t"}`:                                                     `unknown field "txt"`,
		`{"to":"a@example.com","from":"me@example.com","subject":"a\nBcc: x","text":"t"}`:                                            "line breaks",
		`{"to":7,"from":"me@example.com","subject":"s","text":"t"}`:                                                                  "must be an email address",
		`{"to":"a@example.com","from":"me","subject":"s","text":"t"}`:                                                                `"from"`,
		`{"to":"a@example.com","from":"me@example.com","subject":" ","text":"t"}`:                                                    `"subject" is required`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"../x","content":"!!"}]}`: "base64",
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"} {}`:                                                 "trailing data",
		// Issue 14: what a provider would read otherwise, or refuse.
		`{"to":"Doe, John <j@example.com>","from":"me@example.com","subject":"s","text":"t"}`:                                                                   `"to" is not an email address`,
		`{"to":"v@x.test, s@y.test <ok@z.test>","from":"me@example.com","subject":"s","text":"t"}`:                                                              `"to" is not an email address`,
		`{"to":"a@example.com","from":"Ops <me@example.com>\r\n","subject":"s","text":"t"}`:                                                                     `"from" must be an email address`,
		`{"to":"a@example.com","from":"me@example.com","subject":"a\u2028b","text":"t"}`:                                                                        `"subject" must not contain line breaks`,
		`{"to":"a@example.com","from":"me@example.com","subject":"a\u0085b","text":"t"}`:                                                                        `"subject" must not contain line breaks`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","headers":{"Bcc":"x@y.z"}}`:                                                     `header "Bcc" is reserved`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","headers":{"reply-to":"x@y.z"}}`:                                                `header "reply-to" is reserved`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","headers":{"X-SG-ID":"1"}}`:                                                     `header "X-SG-ID" is reserved`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","tags":{"campaign":"spring sale"}}`:                                             `tag "campaign" must use only`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","storage":{"bucket":"b","path":"a/%2e%2e/x"}}]}`: "relative path",
	}
	for in, want := range cases {
		_, _, err := DecodeEmail([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeEmail(%s) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestDecodeEmail_StorageAttachments(t *testing.T) {
	t.Parallel()
	e, refs, err := DecodeEmail([]byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t",
		"attachments":[{"filename":"a.txt","content":"aGk="},{"filename":"inv.pdf","storage":{"bucket":"invoices","path":"2026/inv.pdf"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0] != (StorageRef{Index: 1, Bucket: "invoices", Path: "2026/inv.pdf"}) || e.Attachments[1].Content != nil {
		t.Fatalf("refs %+v, attachments %+v", refs, e.Attachments)
	}
	for in, want := range map[string]string{
		`[{"filename":"x","content":"aGk=","storage":{"bucket":"b","path":"p"}}]`: "exactly one of content and storage",
		`[{"filename":"x"}]`: "exactly one of content and storage",
		`[{"filename":"x","storage":{"bucket":"b","path":"../p"}}]`:   "relative path",
		`[{"filename":"x","storage":{"bucket":"b","path":"/etc/p"}}]`: "relative path",
	} {
		_, _, err := DecodeEmail([]byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":` + in + `}`))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

// FuzzDecodeEmail: any input either decodes to an email with a recipient, a
// sender and a body, or returns an error; it never panics.
func FuzzDecodeEmail(f *testing.F) {
	f.Add([]byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}`))
	f.Add([]byte(`{"to":["a@example.com"],"from":"A <me@example.com>","subject":"s","html":"<b>","attachments":[{"filename":"f","content":"AA=="}]}`))
	f.Add([]byte(`{"to":null}`))
	f.Add([]byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f.pdf","storage":{"bucket":"b","path":"x/y.pdf"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, refs, err := DecodeEmail(b)
		if err != nil {
			return
		}
		if len(e.To) == 0 || e.From.Email == "" || (e.HTML == "" && e.Text == "") || strings.ContainsAny(e.Subject, "\r\n") {
			t.Fatalf("accepted an unsendable email: %+v", e)
		}
		for _, r := range refs {
			if r.Index < 0 || r.Index >= len(e.Attachments) || r.Bucket == "" || strings.Contains("/"+r.Path+"/", "/../") {
				t.Fatalf("accepted a bad storage reference: %+v", r)
			}
		}
	})
}
