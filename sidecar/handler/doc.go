// Package handler turns the built-in message kinds into provider calls:
// email.send to an EmailSender and sms.send to an SMSSender. It decodes each
// payload strictly; a payload that cannot be sent (it slipped past the schema's
// checks, or was written under an older schema) is a permanent failure, so the
// message goes to dead with the reason instead of being retried.
//
// Right before a provider call the senders check the suppression list (a
// suppressed recipient cancels the message, never sends it) and an SMS's quiet
// hours (outside them it is deferred). campaign.process and drip.step are thin
// over SQL functions that do the bookkeeping in one transaction; this package
// renders their content in between.
package handler
