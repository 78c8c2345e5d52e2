// Package eventsfake signs webhook requests the way Resend (Svix), SendGrid,
// Postmark and Twilio do, for tests of sidecar/providerevents. Each signer is written
// from the provider's documentation, apart from the verifiers it tests, and
// its own tests check it against the examples the providers publish.
package eventsfake
