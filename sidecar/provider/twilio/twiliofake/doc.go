// Package twiliofake is an in-process fake of Twilio's Message create endpoint
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json) for tests, built on
// net/http/httptest. It answers as Twilio documents: HTTP basic auth with the
// Account SID and Auth Token or an API key, else 401 with code 20003; a
// form-encoded body; 201 Created with the Message resource (sid "SM…", status
// "queued", or "accepted" with a Messaging Service); and errors as
// {"code", "message", "more_info", "status"}: 21211 for a To that is not
// E.164, 21610 for recipients in Options.OptedOut (they replied STOP), 21658
// for a Body over 1,600 characters, 20429 for injected 429s. Missing To,
// From/MessagingServiceSid or Body answer 400 with codes 21604, 21603 and
// 21602; the client treats every such 4xx alike, so nothing depends on them.
//
// Twilio limits the requests an account has in flight, not a rate, and says
// so as its REST API does: every answer carries Twilio-Concurrent-Requests
// (the account's requests in flight when this one came, itself included),
// Twilio-Request-Duration and Twilio-Request-Id, and with
// Options.Concurrency set a request that arrives with that many in flight is
// refused at once with 429 and error 20429. No limit is stated anywhere else.
//
// It refuses what Twilio's API description (API v2010, Message create) does
// not allow, so that a test cannot pass with a request Twilio would refuse: a
// parameter the description does not list (20001), a From that is not a
// number, short code, alphanumeric sender ID or channel address (21212; a
// Messaging Service SID belongs in MessagingServiceSid), a malformed
// MessagingServiceSid (21701), and a StatusCallback that is not an absolute
// URL or whose host has an underscore (21609).
//
// Twilio documents no idempotency key for this endpoint, and the fake has
// none: a repeated request is a second SMS.
//
//	srv := twiliofake.New(twiliofake.Options{AccountSID: sid, AuthToken: "tok"})
//	defer srv.Close()
//	// point twilio.Config.BaseURL (SYMPHONY_TWILIO_URL) at srv.URL()
//	srv.Inject(twiliofake.ErrorFault(400, 21408, "Permission to send an SMS has not been enabled for the region"))
//	srv.Messages(), srv.Requests()
package twiliofake
