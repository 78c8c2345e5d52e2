package resend

import (
	"encoding/base64"
	"sort"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// emailRequest is the body of POST /emails, field names as Resend documents
// them (resend.com/docs/api-reference/emails/send-email).
type emailRequest struct {
	From        string            `json:"from"`
	To          []string          `json:"to"`
	Cc          []string          `json:"cc,omitempty"`
	Bcc         []string          `json:"bcc,omitempty"`
	ReplyTo     []string          `json:"reply_to,omitempty"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html,omitempty"`
	Text        string            `json:"text,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Tags        []tag             `json:"tags,omitempty"`
	Attachments []attachment      `json:"attachments,omitempty"`
}

type tag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type attachment struct {
	Content     string `json:"content"` // base64, as Resend accepts over HTTP
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
}

func newEmailRequest(e *provider.Email) emailRequest {
	r := emailRequest{
		From: e.From.String(), To: mailboxes(e.To), Cc: mailboxes(e.Cc), Bcc: mailboxes(e.Bcc), ReplyTo: mailboxes(e.ReplyTo),
		Subject: e.Subject, HTML: e.HTML, Text: e.Text, Headers: e.Headers,
	}
	names := make([]string, 0, len(e.Tags))
	for name := range e.Tags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r.Tags = append(r.Tags, tag{Name: name, Value: e.Tags[name]})
	}
	for _, a := range e.Attachments {
		r.Attachments = append(r.Attachments, attachment{
			Content:     base64.StdEncoding.EncodeToString(a.Content),
			Filename:    a.Filename,
			ContentType: a.ContentType,
		})
	}
	return r
}

// mailboxes formats list as Resend takes it: "Name <address>", the name
// quoted where RFC 5322 needs it.
func mailboxes(list []provider.Address) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return out
}
