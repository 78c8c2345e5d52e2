// Package sendgridfake is an in-process fake of SendGrid's v3 Mail Send
// endpoint (POST /v3/mail/send) for tests, built on net/http/httptest. It
// answers as SendGrid documents: 202 Accepted with an empty body and an
// X-Message-Id header; errors as {"errors": [{"message", "field", "help"}]};
// 401 for a wrong Bearer key; 400 for the documented validation rules it
// checks (personalizations and to present, unique recipients, from, subject,
// non-empty content with text/plain first, at most 10 categories); 413 for
// bodies over 30 MB; and 429 with X-RateLimit-Limit/Remaining/Reset.
//
// It refuses what Mail Send's OpenAPI description does not allow, so that a
// test cannot pass with a request SendGrid would refuse: fields it does not
// list or of the wrong type, an email field that is not a bare address
// (a "Name <address>" mailbox included), headers SendGrid reserves,
// categories over 255 characters or repeated, attachments without content or
// filename or with another disposition, repeated reply_to_list entries and
// custom_args over 10,000 bytes. An error about no field names the field
// "null", as the reference shows.
//
// SendGrid has no idempotency key, and neither does the fake: a repeated
// request is a second email, which is exactly what tests of duplicate
// delivery need to see.
//
//	srv := sendgridfake.New(sendgridfake.Options{APIKey: "SG.test"})
//	defer srv.Close()
//	// point sendgrid.Config.BaseURL (SYMPHONY_SENDGRID_URL) at srv.URL()
//	srv.Inject(fakehttp.ResetAfterAccept()) // accepted, but the answer is lost
//	srv.Mails(), srv.Requests()
//
// Error messages follow SendGrid's documented wording where it is published.
package sendgridfake
