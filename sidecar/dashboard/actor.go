package dashboard

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// actor names the operator of a state-changing request in the audit tables
// (symphony.actor()): "dashboard:" and the name given at login for a session;
// for a bearer request, the user an authenticating proxy names in
// X-Forwarded-Email or X-Forwarded-User (only a holder of the token can send
// one). Plain "dashboard" when nobody is named.
func (s *server) actor(r *http.Request, kind string) string {
	name := ""
	switch kind {
	case "session":
		if c, err := r.Cookie(cookieName); err == nil {
			name, _ = s.auth.session(c.Value)
		}
	case "bearer":
		for _, h := range []string{"X-Forwarded-Email", "X-Forwarded-User"} {
			if v, err := operatorName(r.Header.Get(h)); err == nil && v != "" {
				name = v
				break
			}
		}
	}
	if name == "" {
		return "dashboard"
	}
	return "dashboard:" + name
}

// operatorName checks a name for the audit trail: at most 100 printable
// characters; empty is allowed (nobody named).
func operatorName(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > 100 {
		return "", errors.New("The name is longer than 100 characters.")
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return "", errors.New("The name has characters that cannot be printed.")
		}
	}
	return v, nil
}
