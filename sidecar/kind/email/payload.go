package email

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// addressList is an address field: "a@example.com" or
// ["a@example.com", "Name <b@example.com>"] in the payload.
type addressList []string

// emailPayload is an email.send payload as decodeEmailPayload reads it,
// before check.
type emailPayload struct {
	To, Cc, Bcc, ReplyTo      addressList
	From, Subject, HTML, Text string
	Headers, Tags             map[string]string
	Attachments               []attachmentPayload
}

// attachmentPayload is one of a payload's attachments: its content inline
// (base64) or a reference to Storage.
type attachmentPayload struct {
	Filename    string
	Content     *string
	ContentType string
	Storage     *StorageRef
}

// StorageRef names an attachment kept in Supabase Storage; Index is its place
// in Email.Attachments, whose Content is filled in when it is fetched.
type StorageRef struct {
	Index  int
	Bucket string
	Path   string
}

// DecodeEmail decodes and checks an email.send payload. Attachments kept in
// Storage come back as refs, with empty Content until fetched.
func DecodeEmail(b []byte) (*provider.Email, []StorageRef, error) {
	var p emailPayload
	if err := decodeEmailPayload(b, &p); err != nil {
		return nil, nil, fmt.Errorf("invalid email.send payload: %w", err)
	}
	return p.check()
}

// check turns a decoded payload into an Email, or into one error listing
// every problem. It runs for every send: messages are formatted only for
// what is wrong.
func (p *emailPayload) check() (*provider.Email, []StorageRef, error) {
	var problems []string
	check := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, msg)
		}
	}
	check(len(p.To) > 0, `"to" is required`)
	e := &provider.Email{Subject: p.Subject, HTML: p.HTML, Text: p.Text, Headers: p.Headers, Tags: p.Tags}
	all := make([]provider.Address, len(p.To)+len(p.Cc)+len(p.Bcc)+len(p.ReplyTo)) // one allocation for the four lists
	for _, list := range [...]struct {
		name  string
		addrs addressList
		dst   *[]provider.Address
	}{{"to", p.To, &e.To}, {"cc", p.Cc, &e.Cc}, {"bcc", p.Bcc, &e.Bcc}, {"reply_to", p.ReplyTo, &e.ReplyTo}} {
		if list.addrs == nil {
			continue
		}
		*list.dst, all = all[:len(list.addrs):len(list.addrs)], all[len(list.addrs):]
		for i, s := range list.addrs {
			a, ok := parseMailbox(s)
			if !ok {
				problems = append(problems, fmt.Sprintf("%q is not an email address: %.100q", list.name, s))
			}
			(*list.dst)[i] = a
		}
	}
	var ok bool
	e.From, ok = parseMailbox(p.From)
	check(ok, `"from" must be an email address`)
	check(strings.TrimSpace(p.Subject) != "", `"subject" is required`)
	check(!hasLineBreak(p.Subject), `"subject" must not contain line breaks`)
	check(p.HTML != "" || p.Text != "", `"html" or "text" is required: the email has no body`)
	problems = append(problems, headerProblems(p.Headers)...)
	problems = append(problems, tagProblems(p.Tags)...)
	var refs []StorageRef
	if len(p.Attachments) > 0 {
		e.Attachments = make([]provider.Attachment, 0, len(p.Attachments))
	}
	for i, a := range p.Attachments {
		if a.Filename == "" || strings.ContainsAny(a.Filename, `/\`) {
			problems = append(problems, fmt.Sprintf(`"attachments[%d].filename" must be a file name`, i))
		}
		if (a.Content == nil) == (a.Storage == nil) {
			problems = append(problems, fmt.Sprintf(`"attachments[%d]" needs exactly one of content and storage`, i))
		}
		var content []byte
		if a.Content != nil {
			var err error
			if content, err = decodeBase64(*a.Content); err != nil {
				problems = append(problems, fmt.Sprintf(`"attachments[%d].content" must be base64`, i))
			}
		}
		if a.Storage != nil {
			if !validStorageRef(a.Storage) {
				problems = append(problems, fmt.Sprintf(`"attachments[%d].storage" must name a bucket and a relative path`, i))
			}
			refs = append(refs, StorageRef{Index: i, Bucket: a.Storage.Bucket, Path: a.Storage.Path})
		}
		e.Attachments = append(e.Attachments, provider.Attachment{Filename: a.Filename, Content: content, ContentType: a.ContentType})
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("invalid email.send payload: %s", strings.Join(problems, "; "))
	}
	return e, refs, nil
}

// decodeBase64 decodes standard base64 with white space anywhere in it.
func decodeBase64(s string) ([]byte, error) {
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		s = strings.Join(strings.Fields(s), "")
	}
	return base64.StdEncoding.DecodeString(s)
}
