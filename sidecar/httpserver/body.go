package httpserver

import (
	"bytes"
	"net/http"
)

// ReadBody reads r's body, at most limit bytes, allocating once when its
// length is declared. Over the limit, the error is an *http.MaxBytesError and
// the connection is closed after the answer.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // room to see the end without growing
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// Slots bounds how many may do something at once, without waiting.
type Slots chan struct{}

// NewSlots returns n slots.
func NewSlots(n int) Slots { return make(Slots, max(n, 1)) }

// TryTake takes a slot if one is free; the taker gives it back with Give.
func (s Slots) TryTake() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

// Give returns a slot taken.
func (s Slots) Give() { <-s }
