// Package postmarkfake is an in-process fake of Postmark's POST /email for
// tests, built on net/http/httptest. It answers as Postmark documents: 200
// {To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK"}; 401 with
// ErrorCode 10 for a wrong X-Postmark-Server-Token; 415 without JSON Accept
// and Content-Type; 422 with API error codes 402 (invalid JSON), 300 (invalid
// email request: missing From/To, no body, over 50 recipients) and 406
// (inactive recipient, for addresses listed in Options.InactiveRecipients);
// and 413 over 10 MB.
//
// It refuses what Postmark's Email API (and the official client's Message
// model) does not allow, so that a test cannot pass with a request Postmark
// would refuse: fields the model does not have or of the wrong type (300,
// 402), a missing Subject, a From that is not one mailbox, To, Cc, Bcc or
// ReplyTo lists that do not parse as RFC 5322 mailboxes (a comma in a name
// unquoted), headers without a Name and Value, attachments without a Name,
// Content and ContentType. Recipients are read from the parsed lists, so an
// address inside a quoted name is no recipient.
//
// POST /email/batch takes a JSON array of up to 500 messages (50 MB in all),
// each checked as POST /email checks one, and answers 200 with one result per
// message in request order, even when some failed: {ErrorCode: 0, Message:
// "OK", MessageID, ...} for a sent one, {ErrorCode, Message} for a refused one.
// Over 500 messages is 422 ErrorCode 300; over 50 MB is 413.
//
// Postmark has no idempotency key, and neither does the fake: a repeated
// request is a second email.
//
//	srv := postmarkfake.New(postmarkfake.Options{ServerToken: "pm-test"})
//	defer srv.Close()
//	// point postmark.Config.BaseURL (SYMPHONY_POSTMARK_URL) at srv.URL()
//	srv.Inject(fakehttp.Status(503))
//	srv.Messages(), srv.Requests()
//
// Error messages are illustrative; statuses and API error codes follow the
// documentation.
package postmarkfake
