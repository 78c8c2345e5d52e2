package handler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// addressList accepts "a@example.com" or ["a@example.com", "Name <b@example.com>"].
type addressList []string

func (a *addressList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = addressList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be an email address or an array of them")
	}
	*a = many
	return nil
}

type emailPayload struct {
	To          addressList       `json:"to"`
	From        string            `json:"from"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html"`
	Text        string            `json:"text"`
	Cc          addressList       `json:"cc"`
	Bcc         addressList       `json:"bcc"`
	ReplyTo     addressList       `json:"reply_to"`
	Headers     map[string]string `json:"headers"`
	Tags        map[string]string `json:"tags"`
	Attachments []struct {
		Filename    string      `json:"filename"`
		Content     *string     `json:"content"`
		ContentType string      `json:"content_type"`
		Storage     *StorageRef `json:"storage"`
	} `json:"attachments"`
}

// StorageRef names an attachment kept in Supabase Storage; Index is its place
// in Email.Attachments, whose Content is filled in when it is fetched.
type StorageRef struct {
	Index  int    `json:"-"`
	Bucket string `json:"bucket"`
	Path   string `json:"path"`
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// DecodeEmail decodes and checks an email.send payload. Attachments kept in
// Storage come back as refs, with empty Content until fetched.
func DecodeEmail(b []byte) (*provider.Email, []StorageRef, error) {
	var p emailPayload
	if err := decodeStrict(b, &p); err != nil {
		return nil, nil, fmt.Errorf("invalid email.send payload: %w", err)
	}
	var problems []string
	check := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, msg)
		}
	}
	check(len(p.To) > 0, `"to" is required`)
	for _, list := range []struct {
		name  string
		addrs addressList
	}{{"to", p.To}, {"cc", p.Cc}, {"bcc", p.Bcc}, {"reply_to", p.ReplyTo}} {
		for _, a := range list.addrs {
			if !validAddress(a) { // the message is formatted only for a bad address: this runs for every send
				problems = append(problems, fmt.Sprintf("%q is not an email address: %.100q", list.name, a))
			}
		}
	}
	check(validAddress(p.From), `"from" must be an email address`)
	check(strings.TrimSpace(p.Subject) != "", `"subject" is required`)
	check(!strings.ContainsAny(p.Subject, "\r\n"), `"subject" must not contain line breaks`)
	check(p.HTML != "" || p.Text != "", `"html" or "text" is required: the email has no body`)
	for k, v := range p.Headers {
		check(!strings.ContainsAny(k+v, "\r\n"), fmt.Sprintf("header %.100q must not contain line breaks", k))
	}
	e := &provider.Email{
		From: p.From, To: p.To, Cc: p.Cc, Bcc: p.Bcc, ReplyTo: p.ReplyTo,
		Subject: p.Subject, HTML: p.HTML, Text: p.Text, Headers: p.Headers, Tags: p.Tags,
	}
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
				!strings.Contains("/"+a.Storage.Path+"/", "/../")
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

// DecodeSMS decodes and checks an sms.send payload.
func DecodeSMS(b []byte) (*provider.SMS, error) {
	var m provider.SMS
	if err := decodeStrict(b, &m); err != nil {
		return nil, fmt.Errorf("invalid sms.send payload: %w", err)
	}
	switch {
	case !validE164(m.To):
		return nil, fmt.Errorf(`invalid sms.send payload: "to" must be an E.164 phone number, got %.40q`, m.To)
	case strings.TrimSpace(m.Body) == "":
		return nil, errors.New(`invalid sms.send payload: "body" is required`)
	case len([]rune(m.Body)) > 1600:
		return nil, errors.New(`invalid sms.send payload: "body" is longer than 1600 characters`)
	}
	return &m, nil
}
