// Package postmark sends email through Postmark's Email API (POST /email) and
// owns the classification of every answer into a provider.Receipt or a
// *provider.Error.
//
// Postmark has no idempotency key, so nothing whose outcome is unknown is
// repeated in-process; such failures come back transient with MaybeSent set,
// and the queue decides.
//
// Field mapping from provider.Email: From, Subject, HtmlBody, TextBody as
// they are; To, Cc, Bcc and ReplyTo as comma-separated strings (each entry is
// a single RFC 5322 address, so it holds no unquoted comma); headers as
// Postmark's [{Name, Value}] list sorted by name; attachments as {Name,
// Content (base64), ContentType}, the type guessed from the file name when
// the payload has none.
//
// Tags: Postmark takes one Tag (for statistics) and Metadata (key/value pairs
// returned on webhooks and searchable). Every tag goes into Metadata; the tag
// named "category", if any, is also the Tag. (SendGrid follows the same
// convention with custom_args and categories.)
//
// The fake server for tests lives in postmarkfake.
package postmark
