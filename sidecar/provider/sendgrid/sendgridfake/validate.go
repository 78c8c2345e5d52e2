package sendgridfake

import (
	"strconv"
	"strings"
)

// validate applies the Mail Send rules the fake knows, with SendGrid's wording.
func validate(m *Mail) (field, message string) {
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
		for _, list := range [][]Address{p.To, p.Cc, p.Bcc} {
			for _, a := range list {
				recipients++
				if a.Email == "" || !strings.Contains(a.Email, "@") {
					return prefix, "Does not contain a valid address."
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
	if len(m.Content) == 0 {
		return "content", "Unless a valid template_id is provided, the content parameter is required."
	}
	for i, c := range m.Content {
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
	if m.ReplyTo != nil && len(m.ReplyToList) > 0 {
		return "reply_to", "reply_to and reply_to_list are mutually exclusive."
	}
	return "", ""
}
