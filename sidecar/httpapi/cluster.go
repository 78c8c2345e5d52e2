package httpapi

import (
	"context"
	"regexp"
	"strings"
)

// cluster is /status's view of every sidecar together, from the operations
// views: queue stats with throughput, the newest failures, sidecars with their
// heartbeats, and flags. Recipients are left out: /status is for monitoring,
// and the dashboard (behind its token) shows them. That includes the ones a
// provider quotes in a failure reason (Postmark's 406 names the inactive
// address, Twilio's 21211 the number): they are redacted, the rest kept.
func (d Deps) cluster(ctx context.Context) any {
	o, err := d.Ops.Overview(ctx, 20)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	for i := range o.Failures {
		f := &o.Failures[i]
		f.Reason = redactRecipients(f.Reason, f.Recipient)
		f.Recipient = nil
	}
	return o
}

// redacted stands in for a recipient in a failure reason.
const redacted = "[redacted]"

var (
	// An email address as providers quote one (what symphony.email_address
	// takes, without its length limits).
	emailAddress = regexp.MustCompile("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
	// A phone number: international with its +, spaced or not, or a bare run
	// of 8 to 15 digits. Shorter runs (status and error codes) are kept.
	phoneNumber = regexp.MustCompile(`\+[0-9][0-9 ().-]{5,}[0-9]|\b[0-9]{8,15}\b`)
)

// redactRecipients removes from reason the message's recipient as dispatched
// (its display name too) and anything shaped like an email address or a
// phone number: a provider may quote other recipients of the message (cc,
// bcc) as well.
func redactRecipients(reason string, recipient *string) string {
	if recipient != nil {
		r := strings.TrimSpace(*recipient)
		name, _, hasAddr := strings.Cut(r, "<")
		name = strings.Trim(strings.TrimSpace(name), `"`)
		for _, s := range []string{r, name} {
			if len(s) >= 3 && (s != name || hasAddr) {
				reason = strings.ReplaceAll(reason, s, redacted)
			}
		}
	}
	reason = emailAddress.ReplaceAllString(reason, redacted)
	return phoneNumber.ReplaceAllString(reason, redacted)
}
