// Package handler turns the built-in message kinds into provider calls:
// email.send to an EmailSender and sms.send to an SMSSender. It decodes each
// payload strictly; a payload that cannot be sent (it slipped past the schema's
// checks, or was written under an older schema) is a permanent failure, so the
// message goes to dead with the reason instead of being retried.
package handler
