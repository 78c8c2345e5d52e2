package sendgridfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

// reservedHeaders are the headers Mail Send's reference says may not be
// overridden, lower-case.
var reservedHeaders = []string{"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
	"content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc"}

// validate applies the Mail Send rules the fake knows (its OpenAPI
// description: required fields, lengths, enums, email formats, reserved
// headers), with SendGrid's wording where it is published. body is the
// request as sent, for what decoding cannot tell apart.
func validate(m *Mail, body []byte) (field, message string) {
	if len(m.Personalizations) == 0 {
		return "personalizations", "You must have at least one personalization."
	}
	if len(m.Personalizations) > 1000 {
		return "personalizations", "The personalization block is limited to 1000 personalizations per API request."
	}
	recipients := 0
	for i, p := range m.Personalizations {
		prefix := "personalizations." + strconv.Itoa(i)
		if len(p.To) == 0 {
			return prefix + ".to", "The to parameter is required for all personalization objects."
		}
		seen := map[string]bool{}
		for _, list := range []struct {
			kind  string
			addrs []Address
		}{{"to", p.To}, {"cc", p.Cc}, {"bcc", p.Bcc}} {
			kind := list.kind
			for n, a := range list.addrs {
				recipients++
				if !fakehttp.BareAddress(a.Email) {
					return fmt.Sprintf("%s.%s.%d.email", prefix, kind, n), "Does not contain a valid address."
				}
				key := strings.ToLower(a.Email)
				if seen[key] {
					return prefix, "Each email address in the personalization block should be unique between to, cc, and bcc."
				}
				seen[key] = true
			}
		}
		if m.Subject == "" && p.Subject == "" {
			return "subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."
		}
	}
	if recipients > 1000 {
		return "personalizations", "There is a limit of 1000 total recipients (to + cc + bcc) per request."
	}
	if m.From == nil || m.From.Email == "" {
		return "from.email", "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter."
	}
	if !fakehttp.BareAddress(m.From.Email) {
		return "from.email", "The from email does not contain a valid address."
	}
	if m.ReplyTo != nil && !fakehttp.BareAddress(m.ReplyTo.Email) {
		return "reply_to.email", "The reply_to email does not contain a valid address."
	}
	replyTos := map[string]bool{}
	for i, a := range m.ReplyToList {
		if !fakehttp.BareAddress(a.Email) {
			return fmt.Sprintf("reply_to_list.%d.email", i), "Does not contain a valid address."
		}
		if replyTos[strings.ToLower(a.Email)] {
			return "reply_to_list", "The reply_to_list items must be unique."
		}
		replyTos[strings.ToLower(a.Email)] = true
	}
	var given struct {
		Subject *string `json:"subject"`
	}
	if json.Unmarshal(body, &given) == nil && given.Subject != nil && *given.Subject == "" {
		return "subject", "The subject must be at least one character in length." // minLength 1
	}
	for name := range m.Headers {
		if slices.Contains(reservedHeaders, strings.ToLower(name)) {
			return "headers", "You may not override the " + name + " header: it is reserved."
		}
	}
	if len(m.Content) == 0 {
		return "content", "Unless a valid template_id is provided, the content parameter is required."
	}
	for i, c := range m.Content {
		if c.Type == "" {
			return "content." + strconv.Itoa(i) + ".type", "The content type must be a string at least one character in length."
		}
		if c.Value == "" {
			return "content." + strconv.Itoa(i) + ".value", "The content value must be a string at least one character in length."
		}
		if c.Type == "text/plain" && i != 0 {
			return "content", "If present, text/plain must be first, followed by text/html, followed by any other content."
		}
	}
	if len(m.Categories) > 10 {
		return "categories", "You can only have up to 10 categories per request."
	}
	for i, c := range m.Categories {
		if len(c) > 255 {
			return "categories", "A category cannot exceed 255 characters."
		}
		if slices.Contains(m.Categories[:i], c) {
			return "categories", "The categories must be unique."
		}
	}
	for i, a := range m.Attachments {
		at := "attachments." + strconv.Itoa(i)
		switch {
		case a.Content == "":
			return at + ".content", "The attachment content must be a Base64 encoded string at least one character in length."
		case a.Filename == "":
			return at + ".filename", "The attachment filename parameter is required."
		case a.Disposition != "" && a.Disposition != "inline" && a.Disposition != "attachment":
			return at + ".disposition", "The attachment disposition must be inline or attachment."
		}
	}
	if b, _ := json.Marshal(m.CustomArgs); len(m.CustomArgs) > 0 && len(b) > 10000 {
		return "custom_args", "The custom_args may not exceed 10,000 bytes in total."
	}
	if m.ReplyTo != nil && len(m.ReplyToList) > 0 {
		return "reply_to", "reply_to and reply_to_list are mutually exclusive."
	}
	return "", ""
}
