// Package sendgrid sends email through Twilio SendGrid's v3 Mail Send API
// (POST /v3/mail/send) and owns the classification of every answer into a
// provider.Receipt or a *provider.Error.
//
// SendGrid has no idempotency key, so nothing whose outcome is unknown is
// repeated in-process; such failures come back transient with MaybeSent set,
// and the queue decides.
//
// Field mapping from provider.Email: one personalization holds to, cc and bcc
// (each "Name <addr>" split into {email, name}); from likewise; one reply-to
// goes in reply_to, several in reply_to_list; text and html become content
// parts, text/plain first as SendGrid requires; headers pass through;
// attachments carry base64 content, filename, type and disposition
// "attachment".
//
// Tags: every tag goes into custom_args, SendGrid's string key/value metadata
// that comes back on every Event Webhook event, so tags stay useful for
// correlation. The tag named "category", if any, is also sent as the single
// entry of categories, SendGrid's grouping for statistics. (Postmark follows
// the same convention with Metadata and Tag.)
//
// For EU regional subusers set BaseURL to https://api.eu.sendgrid.com. The fake
// server for tests lives in sendgridfake.
package sendgrid
