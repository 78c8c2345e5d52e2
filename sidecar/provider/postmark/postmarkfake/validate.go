package postmarkfake

import (
	"encoding/json"
	"net/mail"
)

// validate applies Postmark's rules for POST /email (its Email API reference
// and the official client's Message model): From, To and Subject present;
// From one mailbox; To, Cc, Bcc and ReplyTo comma-separated lists of
// mailboxes, a comma in a name quoted; every header with a Name and a Value;
// every attachment with a Name, Content and ContentType; a body; at most 50
// recipients. It returns the recipients, or Postmark's message for error 300.
// body is the request as sent, for the fields decoding cannot tell missing.
func validate(m *Message, body []byte) ([]*mail.Address, string) {
	var given struct {
		Subject     *string
		Headers     []map[string]json.RawMessage
		Attachments []map[string]json.RawMessage
	}
	_ = json.Unmarshal(body, &given) // it decoded into m already
	if m.From == "" {
		return nil, "Invalid 'From' address: ''."
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return nil, "Invalid 'From' address: '" + m.From + "'."
	}
	if m.To == "" {
		return nil, "Invalid 'To' address: ''."
	}
	if given.Subject == nil {
		return nil, "Invalid email request: the Subject field is required."
	}
	var recipients []*mail.Address
	for _, f := range []struct{ name, list string }{{"To", m.To}, {"Cc", m.Cc}, {"Bcc", m.Bcc}, {"ReplyTo", m.ReplyTo}} {
		if f.list == "" {
			continue
		}
		list, err := mail.ParseAddressList(f.list)
		if err != nil {
			return nil, "Error parsing '" + f.name + "': Illegal email address '" + f.list + "'."
		}
		if f.name != "ReplyTo" {
			recipients = append(recipients, list...)
		}
	}
	for _, h := range given.Headers {
		if h["Name"] == nil || h["Value"] == nil {
			return nil, "Invalid email request: a header needs a Name and a Value."
		}
	}
	for _, a := range given.Attachments {
		if a["Name"] == nil || a["Content"] == nil || a["ContentType"] == nil {
			return nil, "Invalid email request: an attachment needs a Name, Content and a ContentType."
		}
	}
	switch {
	case m.HTMLBody == "" && m.TextBody == "":
		return nil, "Provide either email TextBody or HtmlBody or both."
	case len(recipients) > 50:
		return nil, "Maximum of 50 recipients allowed per email message"
	}
	return recipients, ""
}
