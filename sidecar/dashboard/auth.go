package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	cookieName = "symphony_dashboard"
	sessionTTL = 12 * time.Hour
)

// auth checks the token and derives session cookies and CSRF tokens from it,
// so the token itself never leaves the login request, and rotating it ends
// every session.
type auth struct {
	tokenHash [32]byte
	key       []byte
	now       func() time.Time
}

func newAuth(token string, now func() time.Time) *auth {
	return &auth{tokenHash: sha256.Sum256([]byte(token)), key: []byte(token), now: now}
}

// tokenOK compares in constant time; hashing first hides the length too.
func (a *auth) tokenOK(given string) bool {
	h := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(h[:], a.tokenHash[:]) == 1
}

func (a *auth) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value: its expiry, the name the operator gave
// at login (for the audit trail), and a MAC over both.
func (a *auth) newSession(name string) (string, time.Time) {
	exp := a.now().Add(sessionTTL)
	e := strconv.FormatInt(exp.Unix(), 10)
	n := base64.RawURLEncoding.EncodeToString([]byte(name))
	return e + "." + n + "." + a.mac("session", e, n), exp
}

// session checks a cookie value and returns the name in it.
func (a *auth) session(v string) (name string, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || a.now().Unix() >= exp {
		return "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(a.mac("session", parts[0], parts[1]))) {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	return string(b), true
}

// csrf is the form token for a session: only a page rendered for that session
// knows it.
func (a *auth) csrf(session string) string { return a.mac("csrf", session) }

// who says how a request is authenticated: "bearer", "session" (with the
// session value), or "" for not at all.
func (a *auth) who(r *http.Request) (kind, session string) {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok && a.tokenOK(strings.TrimSpace(t)) {
			return "bearer", ""
		}
		return "", ""
	}
	if c, err := r.Cookie(cookieName); err == nil {
		if _, ok := a.session(c.Value); ok {
			return "session", c.Value
		}
	}
	return "", ""
}

// csrfOK checks a state-changing request: a bearer request cannot be forged
// by a browser (it never adds the header by itself); a session request must
// carry the token of its own session.
func (a *auth) csrfOK(r *http.Request, kind, session string) bool {
	if kind == "bearer" {
		return true
	}
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(a.csrf(session)))
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
