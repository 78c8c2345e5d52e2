package email

import (
	"fmt"
	"slices"
	"strings"
)

// The checks of email.send's fields besides addresses, as the schema makes
// them at dispatch (validate_email_payload; docs/providers.md, "Addresses and
// fields"), so that what the sidecar builds itself (campaign emails) is held
// to the same rules and a payload that reached it is never sent otherwise.

// hasLineBreak reports whether s holds CR, LF, NEL, or the Unicode line or
// paragraph separator: each ends a line for some reader of a header.
func hasLineBreak(s string) bool {
	return strings.ContainsAny(s, "\r\n\u0085\u2028\u2029")
}

// reservedHeaders are the headers a provider sets from the payload's own
// fields, or refuses (SendGrid's Mail Send reference lists these), lower-case.
var reservedHeaders = []string{"to", "from", "subject", "reply-to", "cc", "bcc", "content-type",
	"content-transfer-encoding", "dkim-signature", "received", "x-sg-id", "x-sg-eid"}

// headerProblems lists the headers that hold a line break or are reserved,
// sorted (unlike the map).
func headerProblems(headers map[string]string) []string {
	var problems []string
	for k, v := range headers {
		switch {
		case hasLineBreak(k) || hasLineBreak(v):
			problems = append(problems, fmt.Sprintf("header %.100q must not contain line breaks", k))
		case slices.ContainsFunc(reservedHeaders, func(h string) bool { return strings.EqualFold(h, k) }):
			problems = append(problems, fmt.Sprintf("header %.100q is reserved: the provider sets it from the payload", k))
		}
	}
	slices.Sort(problems)
	return problems
}

// tagProblems lists the tags whose value is not Resend's charset (ASCII
// letters, digits, _ and -) or is over 256 characters, sorted. The schema
// also holds names to it.
func tagProblems(tags map[string]string) []string {
	var problems []string
	for k, v := range tags {
		if !tagText(k, 1) || !tagText(v, 0) {
			problems = append(problems, fmt.Sprintf("tag %.100q must use only ASCII letters, digits, _ and -, at most 256", k))
		}
	}
	slices.Sort(problems)
	return problems
}

// tagText reports whether s is min to 256 of ASCII letters, digits, _ and -.
func tagText(s string, min int) bool {
	if len(s) < min || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validStorageRef reports whether st names a bucket and a relative path in
// it: no leading /, no .. segment, and no % (Storage decodes percent-escapes
// in a path, and its object names cannot hold one).
func validStorageRef(st *StorageRef) bool {
	return st.Bucket != "" && st.Path != "" && !strings.HasPrefix(st.Path, "/") &&
		!strings.Contains("/"+st.Path+"/", "/../") && !strings.Contains(st.Path, "%")
}
