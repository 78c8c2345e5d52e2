package postmark

import (
	"encoding/base64"
	"mime"
	"path/filepath"
	"sort"
	"strings"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// CategoryTag is the tag whose value is also sent as Postmark's Tag.
const CategoryTag = "category"

// emailRequest is the body of POST /email, field names as Postmark's Email
// API reference documents them.
type emailRequest struct {
	From          string            `json:"From"`
	To            string            `json:"To"`
	Cc            string            `json:"Cc,omitempty"`
	Bcc           string            `json:"Bcc,omitempty"`
	Subject       string            `json:"Subject"`
	Tag           string            `json:"Tag,omitempty"`
	HTMLBody      string            `json:"HtmlBody,omitempty"`
	TextBody      string            `json:"TextBody,omitempty"`
	ReplyTo       string            `json:"ReplyTo,omitempty"`
	Headers       []header          `json:"Headers,omitempty"`
	Metadata      map[string]string `json:"Metadata,omitempty"`
	Attachments   []attachment      `json:"Attachments,omitempty"`
	MessageStream string            `json:"MessageStream,omitempty"`
}

type header struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type attachment struct {
	Name        string `json:"Name"`
	Content     string `json:"Content"` // base64
	ContentType string `json:"ContentType"`
}

func newEmailRequest(e *provider.Email, stream string) emailRequest {
	r := emailRequest{
		From:          e.From.String(),
		To:            mailboxList(e.To),
		Cc:            mailboxList(e.Cc),
		Bcc:           mailboxList(e.Bcc),
		Subject:       e.Subject,
		HTMLBody:      e.HTML,
		TextBody:      e.Text,
		ReplyTo:       mailboxList(e.ReplyTo),
		MessageStream: stream,
	}
	names := make([]string, 0, len(e.Headers))
	for name := range e.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r.Headers = append(r.Headers, header{Name: name, Value: e.Headers[name]})
	}
	if len(e.Tags) > 0 {
		r.Metadata = e.Tags
		r.Tag = e.Tags[CategoryTag]
	}
	for _, a := range e.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = mime.TypeByExtension(filepath.Ext(a.Filename))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		r.Attachments = append(r.Attachments, attachment{
			Name:        a.Filename,
			Content:     base64.StdEncoding.EncodeToString(a.Content),
			ContentType: ct,
		})
	}
	return r
}

// mailboxList formats list as Postmark's To, Cc, Bcc and ReplyTo take it: one
// string of comma-separated mailboxes, each name quoted where RFC 5322 needs
// it, so that a comma in a name cannot start another recipient.
func mailboxList(list []provider.Address) string {
	var b strings.Builder
	for i, a := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}
