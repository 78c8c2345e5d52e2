package sendgrid

import (
	"encoding/base64"
	"net/mail"

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
		From:             parseAddress(e.From),
		Subject:          e.Subject,
		Headers:          e.Headers,
	}
	switch len(e.ReplyTo) {
	case 0:
	case 1:
		a := parseAddress(e.ReplyTo[0])
		r.ReplyTo = &a
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

func addresses(list []string) []address {
	if len(list) == 0 {
		return nil
	}
	out := make([]address, len(list))
	for i, s := range list {
		out[i] = parseAddress(s)
	}
	return out
}

// parseAddress splits "Name <addr>" into SendGrid's {email, name}. Anything
// that does not parse is passed as the email, for SendGrid to reject with a
// message naming the field.
func parseAddress(s string) address {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return address{Email: s}
	}
	return address{Email: a.Address, Name: a.Name}
}
