package resendfake

import (
	"crypto/sha256"
	"net/http"
)

// keyed is what the fake remembers about one idempotency key.
type keyed struct {
	fingerprint [32]byte
	done        bool
	status      int
	answer      any
}

// begin claims key for a request with body, or answers for it: the original
// answer for a completed key with the same body, 409 otherwise.
func (s *Server) begin(key string, body []byte) (int, any, bool) {
	fp := sha256.Sum256(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	switch {
	case !ok:
		s.keys[key] = &keyed{fingerprint: fp}
		return 0, nil, false
	case !k.done:
		st, a := errorAnswer(http.StatusConflict, "concurrent_idempotent_requests",
			"Same idempotency key used while original request is still in progress.")
		return st, a, true
	case k.fingerprint != fp:
		st, a := errorAnswer(http.StatusConflict, "invalid_idempotent_request",
			"Same idempotency key used with a different request payload.")
		return st, a, true
	}
	return k.status, k.answer, true
}

// finish records the answer for key. Only an accepted email is remembered;
// after a rejection the key is free to be used again.
func (s *Server) finish(key string, status int, answer any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status != http.StatusOK {
		delete(s.keys, key)
		return
	}
	k := s.keys[key]
	k.done, k.status, k.answer = true, status, answer
}
