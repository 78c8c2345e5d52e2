package httpx

import (
	"net/url"
	"regexp"
)

// anyURL finds the http(s) URLs in a text, as Go's errors and the retry
// library's messages quote them.
var anyURL = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)

// RedactURLs returns s with every http(s) URL in it cut to its scheme and host:
// "https://hooks.example.com/…". A URL's path and query may carry a token (a
// webhook receiver that authenticates by URL), and its user part a password;
// the host is enough to say where a request went.
func RedactURLs(s string) string {
	return anyURL.ReplaceAllStringFunc(s, RedactURL)
}

// RedactURL returns raw cut to its scheme and host, with "/…" when anything
// followed, or "[url]" when it is not a URL.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[url]"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		out += "/…"
	}
	return out
}

// redactedError is err with the URLs in its text redacted; errors.Is and
// errors.As still see err.
type redactedError struct{ err error }

func (e redactedError) Error() string { return RedactURLs(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// RedactedError returns err with the URLs in its text redacted (RedactURLs),
// keeping its chain for errors.Is and errors.As. Nil stays nil.
func RedactedError(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{err}
}
