// Package provider defines what the sidecar asks of an email or SMS provider and
// how a provider reports failure.
//
// Each concrete provider lives in its own package below this one (outbox for the
// local "log" providers, resend, sendgrid, postmark, twilio). A provider turns an
// Email or SMS into one API call and returns a Receipt, or an *Error that says
// whether the failure is permanent (the message goes to dead at once) or transient
// (it is retried with backoff, honouring RetryAfter). Classification happens once,
// inside the provider package, and nowhere else.
package provider
