// Package deliveryfake signs webhook requests the way Resend (Svix), SendGrid,
// Postmark and Twilio do, for tests of sidecar/delivery. Each signer is written
// from the provider's documentation, apart from the verifiers it tests, and
// its own tests check it against the examples the providers publish.
package deliveryfake
