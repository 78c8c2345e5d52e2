// Package email is the home of the email.send kind: its payload's one Go
// decoder (DecodeEmail, as strict as the schema's validate_email_payload),
// and its handler, which checks the recipients against the suppression list
// right before the provider call (a suppressed recipient is dropped; with
// none left in "to" the message is cancelled), fetches attachments kept in
// Supabase Storage within a memory budget, and sends the email alone or, for
// bulk mail through a provider with a batch endpoint, in batch requests
// recorded before they are made (batch.go).
//
// A payload that cannot be sent (it slipped past the schema's checks, or was
// written under an older schema) is a permanent failure, so the message goes
// to dead with the reason instead of being retried.
package email
