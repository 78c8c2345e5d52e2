// Package resendfake is an in-process fake of Resend's POST /emails for tests,
// built on net/http/httptest. It answers the way Resend documents
// (resend.com/docs/api-reference): 200 {"id"} on success; errors as
// {"statusCode", "name", "message"} with Resend's names and statuses; a
// Bearer key check; required fields; and idempotency keys — a repeated
// Idempotency-Key with the same body replays the original answer without
// sending again, the same key with a different body is 409
// invalid_idempotent_request, and a repeat while the first is still being
// handled is 409 concurrent_idempotent_requests.
//
// Use it from any test, including end-to-end tests through the real sidecar:
//
//	srv := resendfake.New(resendfake.Options{APIKey: "re_test"})
//	defer srv.Close()
//	// point resend.Config.BaseURL (SYMPHONY_RESEND_URL) at srv.URL()
//	srv.Inject(fakehttp.Times(2, fakehttp.Status(500))...) // next two answers fail
//	...
//	srv.Emails()       // emails actually accepted (replays not counted twice)
//	srv.Requests()     // every request, as received
//
// It refuses what Resend's OpenAPI description of POST /emails does not
// allow, so that a test cannot pass with a request Resend would refuse: a
// field it does not list or of the wrong type (422 validation_error), an
// address that is not one mailbox ("email" or "Name <email>", a name with a
// comma quoted), more than 50 to, and tag names or values outside ASCII
// letters, digits, _ and - or over 256 characters.
//
// POST /emails/batch takes a JSON array of 1 to 100 such emails, without
// attachments or scheduled_at, under one Idempotency-Key for the request. In
// strict mode (no x-batch-validation header, or "strict") one invalid email
// refuses the whole batch with that email's error and nothing is sent; in
// permissive mode the valid ones are sent and the answer is 200 {"data":
// [{"id"}...], "errors": [{"index", "message"}...]}, data in request order
// without the refused indexes.
//
// Error messages are illustrative; statuses and names follow the documentation.
package resendfake
