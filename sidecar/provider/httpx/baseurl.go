package httpx

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// BaseURL parses a provider base URL (the real API, a regional endpoint or a
// fake server), falling back to def when raw is empty. It must be absolute
// http(s), and must not carry credentials, a query or a fragment: credentials
// belong in headers, where they never reach error strings or logs. The result
// has no trailing slash.
func BaseURL(raw, def string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		raw = def
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Error would echo the raw URL, which might hold a password.
		return "", errors.New("not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("scheme must be http or https, not %q", u.Scheme)
	case u.Host == "":
		return "", errors.New("host is missing")
	case u.User != nil:
		return "", errors.New("must not contain credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("must not contain a query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}
