// Package dashboard serves the operator's web page: queues and their rates,
// sidecars and their heartbeats, recent failures with a retry button, and the
// flags. It is off unless SYMPHONY_DASHBOARD_TOKEN is set, and then answers
// only to that token, given as "Authorization: Bearer <token>" or once through
// a login form that sets a signed session cookie. Pages are rendered on the
// server with html/template; state-changing requests are POSTs that carry a
// CSRF token and pass Go's cross-origin protection.
package dashboard
