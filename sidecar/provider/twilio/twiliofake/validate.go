package twiliofake

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// The request the fake checks against Twilio's API v2010 description of
// POST …/Messages.json: the parameters it knows, and the shapes of the ones
// Symphony sends.
var (
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	channel    = regexp.MustCompile(`^[a-z]+:\S+$`) // whatsapp:+1…, messenger:…, rcs:…
	shortCode  = regexp.MustCompile(`^[0-9]{3,8}$`)
	senderID   = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	letter     = regexp.MustCompile(`[A-Za-z]`)
)

// knownParams are the form parameters of Message create.
var knownParams = map[string]bool{
	"To": true, "From": true, "MessagingServiceSid": true, "Body": true, "StatusCallback": true,
	"ApplicationSid": true, "MaxPrice": true, "ProvideFeedback": true, "Attempt": true, "ValidityPeriod": true,
	"ForceDelivery": true, "ContentRetention": true, "AddressRetention": true, "SmartEncoded": true,
	"PersistentAction": true, "TrafficType": true, "ShortenUrls": true, "ScheduleType": true, "SendAt": true,
	"SendAsMms": true, "ContentVariables": true, "RiskCheck": true, "FallbackFrom": true, "MediaUrl": true,
	"ContentSid": true,
}

// validSender reports whether from is what Twilio takes as From: an E.164
// number, a short code, an alphanumeric sender ID (at most 11 letters, digits
// and spaces, one letter at least) or a channel address. A Messaging Service
// SID is not one: it goes in MessagingServiceSid.
func validSender(from string) bool {
	switch {
	case e164.MatchString(from), shortCode.MatchString(from), channel.MatchString(from):
		return true
	}
	return senderID.MatchString(from) && letter.MatchString(from) && !serviceSID.MatchString(from)
}

// validCallback reports whether u is an absolute http(s) URL whose host has no
// underscore, as Twilio requires of StatusCallback.
func validCallback(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Hostname() != "" &&
		!strings.Contains(p.Hostname(), "_")
}

// validate checks a parsed form and message as Twilio does, in Twilio's
// order of codes; ok is false with Twilio's status and error otherwise.
func (s *Server) validate(form url.Values, m *Message) (status int, answer any, ok bool) {
	var unknown []string
	for k := range form {
		if !knownParams[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		status, answer = errorOf(http.StatusBadRequest, 20001, "Unknown parameters: "+strings.Join(unknown, ", "))
		return status, answer, false
	}
	switch {
	case m.To == "":
		status, answer = errorOf(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !e164.MatchString(m.To) && !channel.MatchString(m.To):
		status, answer = errorOf(http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+m.To)
	case m.From == "" && m.MessagingServiceSID == "":
		status, answer = errorOf(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case m.From != "" && !validSender(m.From):
		status, answer = errorOf(http.StatusBadRequest, 21212,
			"The 'From' number "+m.From+" is not a valid phone number, shortcode, or alphanumeric sender ID.")
	case m.MessagingServiceSID != "" && !serviceSID.MatchString(m.MessagingServiceSID):
		status, answer = errorOf(http.StatusBadRequest, 21701, "The Messaging Service Sid "+m.MessagingServiceSID+" is invalid.")
	case form.Has("StatusCallback") && !validCallback(m.StatusCallback):
		status, answer = errorOf(http.StatusBadRequest, 21609, "Invalid StatusCallback url: "+m.StatusCallback)
	case m.Body == "":
		status, answer = errorOf(http.StatusBadRequest, 21602, "Message body is required.")
	case utf8.RuneCountInString(m.Body) > 1600:
		status, answer = errorOf(http.StatusBadRequest, 21658, "Parameter exceeded character limit: Body")
	case s.optedOut[m.To]:
		status, answer = errorOf(http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	default:
		return 0, nil, true
	}
	return status, answer, false
}
