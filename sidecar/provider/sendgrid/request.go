package sendgrid

import (
	"encoding/base64"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// CategoryTag is the tag whose value is also sent as SendGrid's category.
const CategoryTag = "category"

// mailRequest is the body of POST /v3/mail/send, field names as SendGrid's
// Mail Send reference documents them.
type mailRequest struct {
	Personalizations []personalization `json:"personalizations"`
	From             address           `json:"from"`
	ReplyTo          *address          `json:"reply_to,omitempty"`
	ReplyToList      []address         `json:"reply_to_list,omitempty"`
	Subject          string            `json:"subject"`
	Content          []content         `json:"content,omitempty"`
	Attachments      []attachment      `json:"attachments,omitempty"`
	Headers          map[string]string `json:"headers,omitempty"`
	Categories       []string          `json:"categories,omitempty"`
	CustomArgs       map[string]string `json:"custom_args,omitempty"`
}

type personalization struct {
	To  []address `json:"to"`
	Cc  []address `json:"cc,omitempty"`
	Bcc []address `json:"bcc,omitempty"`
}

type address struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type attachment struct {
	Content     string `json:"content"` // base64
	Filename    string `json:"filename"`
	Type        string `json:"type,omitempty"`
	Disposition string `json:"disposition"`
}

func newMailRequest(e *provider.Email) mailRequest {
	r := mailRequest{
		Personalizations: []personalization{{To: addresses(e.To), Cc: addresses(e.Cc), Bcc: addresses(e.Bcc)}},
		From:             address{Email: e.From.Email, Name: e.From.Name},
		Subject:          e.Subject,
		Headers:          e.Headers,
	}
	switch len(e.ReplyTo) {
	case 0:
	case 1:
		r.ReplyTo = &address{Email: e.ReplyTo[0].Email, Name: e.ReplyTo[0].Name}
	default:
		r.ReplyToList = addresses(e.ReplyTo)
	}
	// "If present, text/plain must be first, followed by text/html."
	if e.Text != "" {
		r.Content = append(r.Content, content{Type: "text/plain", Value: e.Text})
	}
	if e.HTML != "" {
		r.Content = append(r.Content, content{Type: "text/html", Value: e.HTML})
	}
	for _, a := range e.Attachments {
		r.Attachments = append(r.Attachments, attachment{
			Content:     base64.StdEncoding.EncodeToString(a.Content),
			Filename:    a.Filename,
			Type:        a.ContentType,
			Disposition: "attachment",
		})
	}
	if len(e.Tags) > 0 {
		r.CustomArgs = e.Tags
		if c := e.Tags[CategoryTag]; c != "" {
			r.Categories = []string{c}
		}
	}
	return r
}

// addresses is list as SendGrid's {email, name} objects: the bare address and
// the name apart, unquoted.
func addresses(list []provider.Address) []address {
	if len(list) == 0 {
		return nil
	}
	out := make([]address, len(list))
	for i, a := range list {
		out[i] = address{Email: a.Email, Name: a.Name}
	}
	return out
}
