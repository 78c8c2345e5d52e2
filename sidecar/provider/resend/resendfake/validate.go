package resendfake

import (
	"net/http"
	"strings"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// validate applies the rules Resend documents for POST /emails (its OpenAPI
// description, SendEmailRequest): the required fields, at most 50 to, each
// address one mailbox ("email" or "Name <email>"), tag names and values of
// ASCII letters, digits, _ and -, at most 256 each, and attachments with
// content or a path.
func validate(e *Email) (int, any, bool) {
	var missing []string
	if e.From == "" {
		missing = append(missing, "from")
	}
	if len(e.To) == 0 {
		missing = append(missing, "to")
	}
	if e.Subject == "" {
		missing = append(missing, "subject")
	}
	if len(missing) > 0 {
		st, a := errorAnswer(http.StatusUnprocessableEntity, "missing_required_field",
			"Missing required fields: "+strings.Join(missing, ", "))
		return st, a, true
	}
	if e.HTML == "" && e.Text == "" {
		st, a := errorAnswer(http.StatusUnprocessableEntity, "validation_error", "Either `html` or `text` must be provided.")
		return st, a, true
	}
	if len(e.To) > 50 {
		st, a := errorAnswer(http.StatusUnprocessableEntity, "validation_error", "Too many recipients in `to`: max 50.")
		return st, a, true
	}
	for _, f := range []struct {
		name  string
		addrs []string
	}{{"from", []string{e.From}}, {"to", e.To}, {"cc", e.Cc}, {"bcc", e.Bcc}, {"reply_to", e.ReplyTo}} {
		for _, a := range f.addrs {
			if _, ok := fakehttp.Mailbox(a); !ok {
				st, ans := errorAnswer(http.StatusUnprocessableEntity, "validation_error", "Invalid `"+f.name+
					"` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.")
				return st, ans, true
			}
		}
	}
	for _, t := range e.Tags {
		if !tagSafe(t.Name, true) || !tagSafe(t.Value, false) {
			st, a := errorAnswer(http.StatusUnprocessableEntity, "validation_error",
				"Tags should only contain ASCII letters, numbers, underscores, or dashes.")
			return st, a, true
		}
	}
	for _, a := range e.Attachments {
		if a.Content == "" && a.Path == "" {
			st, ans := errorAnswer(http.StatusUnprocessableEntity, "invalid_attachment",
				"Attachment must have either a `content` or `path`.")
			return st, ans, true
		}
	}
	return 0, nil, false
}

// tagSafe applies Resend's documented tag rule: ASCII letters, digits, _ and -,
// at most 256 characters; a name must not be empty.
func tagSafe(s string, name bool) bool {
	if len(s) > 256 || (name && s == "") {
		return false
	}
	for _, c := range s {
		ok := c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}
