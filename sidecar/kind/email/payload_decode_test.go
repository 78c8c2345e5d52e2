package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// The oracle: encoding/json, kept here to check the one decoder the sidecar
// has (decodeEmailPayload), and the check rules spelled out again with the
// schema's regexps. oraclePayload is the payload's shape in json tags.
type oraclePayload struct {
	To          oracleAddresses   `json:"to"`
	From        string            `json:"from"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html"`
	Text        string            `json:"text"`
	Cc          oracleAddresses   `json:"cc"`
	Bcc         oracleAddresses   `json:"bcc"`
	ReplyTo     oracleAddresses   `json:"reply_to"`
	Headers     map[string]string `json:"headers"`
	Tags        map[string]string `json:"tags"`
	Attachments []*struct {
		Filename    string  `json:"filename"`
		Content     *string `json:"content"`
		ContentType string  `json:"content_type"`
		Storage     *struct {
			Bucket string `json:"bucket"`
			Path   string `json:"path"`
		} `json:"storage"`
	} `json:"attachments"`
}

// oracleAddresses reads "a@example.com" or ["a@example.com", ...]; null is
// no list.
type oracleAddresses []string

func (a *oracleAddresses) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = oracleAddresses{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be an email address or an array of them")
	}
	*a = many
	return nil
}

// oracleDecodePayload decodes b with encoding/json, held to the schema where
// encoding/json is laxer (oracleShape).
func oracleDecodePayload(b []byte) (*emailPayload, error) {
	if err := oracleShape(b); err != nil {
		return nil, err
	}
	var o oraclePayload
	if err := strictjson.Decode(b, &o); err != nil {
		return nil, err
	}
	p := &emailPayload{To: addressList(o.To), Cc: addressList(o.Cc), Bcc: addressList(o.Bcc), ReplyTo: addressList(o.ReplyTo),
		From: o.From, Subject: o.Subject, HTML: o.HTML, Text: o.Text, Headers: o.Headers, Tags: o.Tags}
	if o.Attachments != nil {
		p.Attachments = make([]attachmentPayload, len(o.Attachments))
	}
	for i, a := range o.Attachments {
		if a == nil {
			continue // null: the zero attachment
		}
		p.Attachments[i] = attachmentPayload{Filename: a.Filename, Content: a.Content, ContentType: a.ContentType}
		if a.Storage != nil {
			p.Attachments[i].Storage = &StorageRef{Bucket: a.Storage.Bucket, Path: a.Storage.Path}
		}
	}
	return p, nil
}

// oracleShape refuses what the schema refuses and encoding/json lets
// through: anything but one object with whitespace around it, and a key that
// is not one of an object's fields spelled exactly, or that repeats.
func oracleShape(b []byte) error {
	if !json.Valid(b) {
		return errors.New("not one JSON value")
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return errors.New("not an object")
	}
	storage := map[string]func([]byte) error{"bucket": nil, "path": nil}
	attachment := map[string]func([]byte) error{"filename": nil, "content": nil, "content_type": nil,
		"storage": func(v []byte) error { return oracleFields(v, storage) }}
	return oracleFields(b, map[string]func([]byte) error{
		"to": nil, "from": nil, "subject": nil, "html": nil, "text": nil, "cc": nil, "bcc": nil, "reply_to": nil,
		"headers": nil, "tags": nil,
		"attachments": func(v []byte) error {
			var list []json.RawMessage
			if json.Unmarshal(v, &list) != nil {
				return nil // not an array: encoding/json words it
			}
			for _, a := range list {
				if err := oracleFields(a, attachment); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// oracleFields checks the keys of the object v (anything else passes, for
// encoding/json to word) against fields, and each key's value with its func.
func oracleFields(v []byte, fields map[string]func([]byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(v))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key := t.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return err
		}
		check, known := fields[key]
		switch {
		case !known:
			return fmt.Errorf("unknown field %q", key)
		case seen[key]:
			return fmt.Errorf("repeated field %q", key)
		case check != nil:
			if err := check(value); err != nil {
				return err
			}
		}
		seen[key] = true
	}
	return nil
}

// oracleDecodeEmail is DecodeEmail as encoding/json and the regexps would
// do it.
func oracleDecodeEmail(b []byte) (*provider.Email, []StorageRef, error) {
	p, err := oracleDecodePayload(b)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid email.send payload: %w", err)
	}
	var problems, sorted []string
	check := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, msg)
		}
	}
	check(len(p.To) > 0, `"to" is required`)
	e := &provider.Email{Subject: p.Subject, HTML: p.HTML, Text: p.Text, Headers: p.Headers, Tags: p.Tags}
	for _, list := range []struct {
		name  string
		addrs addressList
		dst   *[]provider.Address
	}{{"to", p.To, &e.To}, {"cc", p.Cc, &e.Cc}, {"bcc", p.Bcc, &e.Bcc}, {"reply_to", p.ReplyTo, &e.ReplyTo}} {
		for _, s := range list.addrs {
			a, ok := regexpParseMailbox(s)
			check(ok, fmt.Sprintf("%q is not an email address: %.100q", list.name, s))
			*list.dst = append(*list.dst, a)
		}
		if list.addrs != nil && *list.dst == nil {
			*list.dst = []provider.Address{}
		}
	}
	var ok bool
	e.From, ok = regexpParseMailbox(p.From)
	check(ok, `"from" must be an email address`)
	check(strings.TrimSpace(p.Subject) != "", `"subject" is required`)
	check(!lineBreak.MatchString(p.Subject), `"subject" must not contain line breaks`)
	check(p.HTML != "" || p.Text != "", `"html" or "text" is required: the email has no body`)
	for k, v := range p.Headers {
		switch {
		case lineBreak.MatchString(k + v):
			sorted = append(sorted, fmt.Sprintf("header %.100q must not contain line breaks", k))
		case reservedHeader.MatchString(k):
			sorted = append(sorted, fmt.Sprintf("header %.100q is reserved: the provider sets it from the payload", k))
		}
	}
	slices.Sort(sorted)
	problems, sorted = append(problems, sorted...), nil
	for k, v := range p.Tags {
		if !tagName.MatchString(k) || !tagValue.MatchString(v) {
			sorted = append(sorted, fmt.Sprintf("tag %.100q must use only ASCII letters, digits, _ and -, at most 256", k))
		}
	}
	slices.Sort(sorted)
	problems = append(problems, sorted...)
	var refs []StorageRef
	for i, a := range p.Attachments {
		check(a.Filename != "" && !strings.ContainsAny(a.Filename, `/\`), fmt.Sprintf(`"attachments[%d].filename" must be a file name`, i))
		check((a.Content == nil) != (a.Storage == nil), fmt.Sprintf(`"attachments[%d]" needs exactly one of content and storage`, i))
		var content []byte
		if a.Content != nil {
			var err error
			content, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(*a.Content), ""))
			check(err == nil, fmt.Sprintf(`"attachments[%d].content" must be base64`, i))
		}
		if a.Storage != nil {
			ok := a.Storage.Bucket != "" && a.Storage.Path != "" && !strings.HasPrefix(a.Storage.Path, "/") &&
				!dotDot.MatchString(a.Storage.Path) && !strings.Contains(a.Storage.Path, "%")
			check(ok, fmt.Sprintf(`"attachments[%d].storage" must name a bucket and a relative path`, i))
			refs = append(refs, StorageRef{Index: i, Bucket: a.Storage.Bucket, Path: a.Storage.Path})
		}
		e.Attachments = append(e.Attachments, provider.Attachment{Filename: a.Filename, Content: content, ContentType: a.ContentType})
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("invalid email.send payload: %s", strings.Join(problems, "; "))
	}
	return e, refs, nil
}

// The schema's patterns for the checks besides addresses.
var (
	lineBreak      = regexp.MustCompile(`[\r\n\x{85}\x{2028}\x{2029}]`)
	reservedHeader = regexp.MustCompile(`(?i)^(to|from|subject|reply-to|cc|bcc|content-type|content-transfer-encoding|dkim-signature|received|x-sg-id|x-sg-eid)$`)
	tagName        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	tagValue       = regexp.MustCompile(`^[A-Za-z0-9_-]{0,256}$`)
	dotDot         = regexp.MustCompile(`(^|/)\.\.(/|$)`)
)

// compareWithOracle fails t unless DecodeEmail and the oracle agree on b:
// both decode it or both refuse to; and both accept it with the same Email
// (nil and empty slices and maps told apart) and refs, or both refuse it
// with the same message (a decoding error is worded by each its own way).
func compareWithOracle(t *testing.T, b []byte) {
	t.Helper()
	var p emailPayload
	derr := decodeEmailPayload(b, &p)
	wp, werr := oracleDecodePayload(b)
	switch {
	case (derr == nil) != (werr == nil):
		t.Fatalf("%q: decodeEmailPayload says %v, the oracle %v", b, derr, werr)
	case derr != nil:
		if _, _, err := DecodeEmail(b); err == nil || err.Error() != "invalid email.send payload: "+derr.Error() {
			t.Fatalf("%q: DecodeEmail says %v, decodeEmailPayload %v", b, err, derr)
		}
		return
	case !reflect.DeepEqual(&p, wp):
		t.Fatalf("%q: decodeEmailPayload decodes\n\t%#v\nthe oracle\n\t%#v", b, p, *wp)
	}
	e, refs, err := DecodeEmail(b)
	we, wrefs, werr := oracleDecodeEmail(b)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("%q: DecodeEmail says %v, the oracle %v", b, err, werr)
	case err != nil:
		if err.Error() != werr.Error() {
			t.Fatalf("%q: DecodeEmail says\n\t%v\nthe oracle\n\t%v", b, err, werr)
		}
	case !reflect.DeepEqual(e, we) || !reflect.DeepEqual(refs, wrefs):
		t.Fatalf("%q: DecodeEmail decodes\n\t%#v %#v\nthe oracle\n\t%#v %#v", b, e, refs, we, wrefs)
	}
}

// jsonbEmails are payloads as PostgreSQL prints jsonb (checked by
// TestDecodeEmail_ReadsDispatchedPayloads): the decoder must read them all.
var jsonbEmails = []string{
	`{"to": "a@example.com", "from": "me@example.com", "text": "t", "subject": "s"}`,
	`{"to": ["a@example.com", "Bo <b@example.com>"], "from": "Me <me@example.com>", "html": "<p>x</p>", "tags": {"campaign": "c1"}, "subject": "hi", "attachments": [{"content": "aGVsbG8=", "filename": "a.txt"}]}`,
	`{"cc": ["Ann <ann@example.com>"], "to": "a@example.com", "bcc": ["audit@example.com"], "from": "me@example.com", "html": "<p class=\"x\">Hi,\n\tZoë 👋</p>", "text": "Hi \\ there\r\n\u0001", "headers": {"List-Unsubscribe": "<https://example.com/u>"}, "subject": "Ünïcode – “quotes”", "reply_to": "help@example.com"}`,
	`{"to": "a@example.com", "from": "me@example.com", "text": "t", "subject": "s", "attachments": [{"storage": {"path": "2026/inv.pdf", "bucket": "invoices"}, "filename": "inv.pdf", "content_type": "application/pdf"}, {"content": "aGk=\naGk=", "filename": "b.txt"}]}`,
	`{"cc": [], "to": [], "from": "me@example.com", "tags": {}, "text": "t", "headers": {}, "subject": "s", "attachments": []}`,
}

// Payloads off the canonical path: quirks of encoding/json the decoder
// reproduces, and text it refuses. Each is checked against the oracle.
var unusualEmails = []string{
	``, ` `, `null`, `[]`, `"x"`, `{}`, `{ }`, `{"to":null}`, `{"to": null, "from": null, "subject": null, "html": null, "text": null}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","cc":null,"bcc":[null],"headers":null,"tags":{"a":null},"attachments":null}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[null,{"filename":null,"content":null,"storage":null,"content_type":null}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","storage":{}}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","storage":{"bucket":null,"path":"p"}}]}`,
	`{"TO":"a@example.com","From":"me@example.com","subject":"s","text":"t"}`,
	`{"to":"a@example.com","from":"me@example.com","ſubject":"s","text":"t"}`,
	`{"t\u006f":"a@example.com","from":"me@example.com","subject":"s","text":"t"}`,
	`{"to":"a@example.com","to":"b@example.com","from":"me@example.com","subject":"s","text":"t"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","tags":{"a":"1"},"tags":{"b":"2"}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","tags":{"a":"1","a":"2"}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","filename":"g","content":"AA=="}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}]`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"} x`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}{}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t",}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"`,
	` 	{ "to" : [ "a@example.com" , "b@example.com" ] ,"from":"me@example.com" ,"subject" :"s","text":"t" } ` + "\r\n",
	`{"to":["a@example.com",],"from":"me@example.com","subject":"s","text":"t"}`,
	`{"to":["a@example.com" "b@example.com"],"from":"me@example.com","subject":"s","text":"t"}`,
	`{"to":["a@example.com",7],"from":"me@example.com","subject":"s","text":"t"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":true}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","headers":{"X":1}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","headers":{"A":"x\ny","B":"1","C\r":"z","D":"\n"}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","content":"AA==","Index":1}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":{}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","content":"A A = =\u00a0"}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","content":""}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","content":"!"},{"filename":"a/b","storage":{"bucket":"b","path":"x/../y"}}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"\ud83d\ude00 \ud83d \ude00 \ud83d\u0041 \uDFFF\uD800\uDC00 \u0000"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"\/\b\f\n\r\t\"\\"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"\'"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"\x"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"\u12"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"\ud800\u12"}`,
	"{\"to\":\"a@example.com\",\"from\":\"me@example.com\",\"subject\":\"s\",\"text\":\"raw\ttab\"}",
	"{\"to\":\"a@example.com\",\"from\":\"me@example.com\",\"subject\":\"s\",\"text\":\"bad \xff\xfe utf8 \xed\xa0\x80 \xf0\x9f\x98\"}",
	"{\"to\":\"a@example.com\",\"from\":\"me@example.com\",\"subject\":\"s\",\"text\":\"t\",\"tags\":{\"k\xff\":\"v\xc3\"}}",
	"\xef\xbb\xbf{\"to\":\"a@example.com\",\"from\":\"me@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","cc":"","bcc":"bob","reply_to":["x@y.z","nope"]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t", "cc":nul}`,
	`{"to":["\"Doe, John\" <j@example.com>","John  Q. Public <p@example.com>"," <x@example.com> "],"from":"Ops Team <me@example.com>\t","subject":"s","text":"t"}`,
	`{"to":"Doe, John <j@example.com>","from":"a@b.c <me@example.com>","subject":"s\u2028","text":"t"}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","headers":{"BCC":"x@y.z","X-A":"1","to":"q\u0085"},"tags":{"a":"b c","b":"é","ok":"c-1_X"}}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f","storage":{"bucket":"b","path":"x%2fy"}}]}`,
	`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t", "cc":nullx}`,
}

func TestDecodeEmail_MatchesOracle(t *testing.T) {
	t.Parallel()
	for _, s := range append(append(slices.Clone(jsonbEmails), unusualEmails...), seedEmails()...) {
		compareWithOracle(t, []byte(s))
	}
}

func TestDecodeEmail_ReadsJSONB(t *testing.T) {
	t.Parallel()
	for _, s := range jsonbEmails {
		if err := decodeEmailPayload([]byte(s), new(emailPayload)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// TestDecodeEmail_SaysWhereTheJSONIsWrong: a payload that is not the
// format's JSON is refused with the field and the byte where reading stopped.
func TestDecodeEmail_SaysWhereTheJSONIsWrong(t *testing.T) {
	t.Parallel()
	const head = `{"to":"a@example.com","from":"me@example.com","subject":"s",`
	for in, want := range map[string]string{
		``:                              `must be a JSON object (byte 0)`,
		`null`:                          `must be a JSON object (byte 0)`,
		` ["a"]`:                        `must be a JSON object (byte 1)`,
		head + `"text":7}`:              `"text": must be a string (byte 67)`,
		head + `"TEXT":"t"}`:            `unknown field "TEXT" (byte 60)`,
		head + `"text":"t","text":"u"}`: `repeated field "text" (byte 71)`,
		head + `"text":"t"}}`:           `trailing data after the JSON object (byte 71)`,
		head + `"text":"t",}`:           `want a field name in quotes (byte 71)`,
		head + `"text":"t" "html":"h"}`: `want "," or "}" (byte 71)`,
		head + `"text":"\x"}`:           `"text": has a bad escape (byte 68)`,
		head + `"text":"t`:              `"text": is a string with no closing quote (byte 67)`,
		head + `"text":"t","cc":["b@example.com",1]}`:                            `"cc[1]": must be a string (byte 93)`,
		head + `"text":"t","tags":{"a":1}}`:                                      `"tags.a": must be a string (byte 83)`,
		head + `"text":"t","attachments":[{"filename":"f","storage":[]}]}`:       `"attachments[0].storage": must be an object (byte 112)`,
		head + `"text":"t","attachments":[null,{"filename":"f","Index":1}]}`:     `"attachments[1]": unknown field "Index" (byte 107)`,
		head + `"text":"t","attachments":[{"filename":"f","content":"AA=="} 1]}`: `"attachments": want "," or "]" (byte 120)`,
	} {
		_, _, err := DecodeEmail([]byte(in))
		if err == nil || err.Error() != "invalid email.send payload: "+want {
			t.Errorf("%s:\n\tgot  %v\n\twant invalid email.send payload: %s", in, err, want)
		}
	}
}

func TestDecodeEmail_HeaderProblemsSorted(t *testing.T) {
	t.Parallel()
	_, _, err := DecodeEmail([]byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t",` +
		`"headers":{"C":"\n","A":"\r","B":"ok"}}`))
	want := `invalid email.send payload: header "A" must not contain line breaks; header "C" must not contain line breaks`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// TestDecodeEmail_ReadsDispatchedPayloads checks against PostgreSQL that the
// decoder reads what the sidecar is given: payloads the schema accepts, as
// jsonb prints them. jsonbEmails must be in that form already.
func TestDecodeEmail_ReadsDispatchedPayloads(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for _, s := range jsonbEmails {
		var out string
		if err := db.Pool.QueryRow(ctx, `select $1::jsonb::text`, s).Scan(&out); err != nil {
			t.Fatal(err)
		}
		if out != s {
			t.Errorf("jsonb prints\n\t%s\nas\n\t%s", s, out)
		}
	}
	for _, s := range []string{
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}`,
		`{"subject":"R\u00e9sum\u00e9 \ud83d\ude00","from":"Z\u00f6e <me@example.com>","to":["a@example.com","B <b@example.com>"],` +
			`"html":"<p style=\"x\">\u2028\t\u0007</p>","text":"a\/b","reply_to":"r@example.com","bcc":"c@example.com",` +
			`"headers":{"X-Entity-Ref-ID":"42"},"tags":{"campaign":"c-1"}}`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[` +
			`{"filename":"a.txt","content":"aGVs\nbG8=","content_type":"text/plain"},{"filename":"b.pdf","storage":{"bucket":"docs","path":"x/b.pdf"}}]}`,
	} {
		var out string
		err := db.Pool.QueryRow(ctx, `select p::text from (select $1::jsonb as p) s where symphony.validate_email_payload(p)::text = ''`, s).Scan(&out)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if err := decodeEmailPayload([]byte(out), new(emailPayload)); err != nil {
			t.Errorf("%s: %v", out, err)
		}
		compareWithOracle(t, []byte(out))
	}
}

// seedEmails are the fuzz seeds: the payloads above, FuzzDecodeEmail's and
// the benchmark's.
func seedEmails() []string {
	seeds := []string{
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}`,
		`{"to":["a@example.com"],"from":"A <me@example.com>","subject":"s","html":"<b>","attachments":[{"filename":"f","content":"AA=="}]}`,
		`{"to":null}`,
		`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t","attachments":[{"filename":"f.pdf","storage":{"bucket":"b","path":"x/y.pdf"}}]}`,
	}
	for _, c := range benchEmails {
		seeds = append(seeds, c.payload)
	}
	return seeds
}

// FuzzDecodeEmailOracle: DecodeEmail and the encoding/json oracle agree on
// every input.
func FuzzDecodeEmailOracle(f *testing.F) {
	for _, s := range append(append(slices.Clone(jsonbEmails), unusualEmails...), seedEmails()...) {
		f.Add([]byte(s))
	}
	f.Fuzz(compareWithOracle)
}

// BenchmarkDecodeEmailOracle is BenchmarkDecodeEmail for the oracle, the
// encoding/json decoder: run both together for a ratio on a busy machine.
func BenchmarkDecodeEmailOracle(b *testing.B) {
	for _, c := range benchEmails {
		b.Run(c.name, func(b *testing.B) {
			payload := []byte(c.payload)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := oracleDecodeEmail(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
