// Package resend sends email through Resend's API (POST /emails) and owns the
// classification of every answer Resend gives into a provider.Receipt or a
// *provider.Error.
//
// Each send carries an Idempotency-Key derived from the message
// (provider.Send.IdempotencyKey), the same on every attempt and every sidecar.
// Resend documents that a repeated key within 24 hours returns the original
// response without sending again, so a timeout, a reset or a 5xx is retried
// (in-process by httpx, then by the queue) without risk of a duplicate, and
// such errors never set MaybeSent. Deployments that share a Resend team must
// set distinct Config.IdempotencyKeyPrefix values, since message ids overlap.
//
// Field mapping from provider.Email: from, to, cc, bcc, reply_to, subject, html,
// text and headers map one to one; tags become Resend's [{name, value}] list
// (sorted by name, so the body is stable across attempts, which matters: the
// same key with a different body is invalid_idempotent_request); attachments
// carry base64 content, filename and, when known, content_type.
//
// The fake server for tests lives in resendfake.
package resend
