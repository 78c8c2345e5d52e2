// Package httpserver runs the sidecar's HTTP listeners (the API on :8080, the
// operator dashboard, the delivery webhooks) so that no client can hold them.
//
// Each listener has read, write and idle timeouts, and a cap on the
// connections it holds: a file descriptor per connection, bounded, so that
// slow or idle clients can never take the descriptors that database and
// provider connections need. At the cap, a new connection takes the place of
// the held one that has waited longest without a request in a handler (idle
// between requests, or still sending its headers), so a health check gets in
// while slow clients come and go; only when every held connection is in a
// handler is the new one closed. Handlers running at once are bounded below
// the cap (more are answered 503 at once), which keeps room for new
// connections. Request bodies are refused where none is expected and capped
// elsewhere, before any of it is read.
package httpserver
