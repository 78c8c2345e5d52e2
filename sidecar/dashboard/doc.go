// Package dashboard serves the operator's web pages: an overview (queues and
// their rates, sidecars and their heartbeats, recent failures with a retry
// button, the flags), and charts drawn on the server as inline SVG from the
// rollups symphony.roll_up() keeps: activity per queue, the migration (legacy
// and Symphony side by side, with the flag's rollout), campaigns and drips
// (with pause, resume and cancel, audited under the operator's name), and
// delivery health. It is off unless SYMPHONY_DASHBOARD_TOKEN is set, and then answers
// only to that token, given as "Authorization: Bearer <token>" or once through
// a login form that sets a signed session cookie. Pages are rendered on the
// server with html/template; state-changing requests are POSTs that carry a
// CSRF token and pass Go's cross-origin protection.
package dashboard
