// Package twilio sends SMS through Twilio's Programmable Messaging API
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP
// basic auth) and owns the classification of every answer into a
// provider.Receipt or a *provider.Error.
//
// Credentials: the Account SID and Auth Token, or an API key (SID "SK…" and
// secret), which Twilio recommends because it can be revoked alone; the
// Account SID is always in the URL.
//
// Sender: the message's own From if it has one; otherwise the configured
// Messaging Service (MessagingServiceSid, which picks a sender from its pool);
// otherwise the configured From. Twilio wants From empty when a Messaging
// Service is used, so only one of them is sent.
//
// Twilio's Messages API documents no idempotency key, so nothing whose outcome
// is unknown is repeated in-process; such failures come back transient with
// MaybeSent set. Twilio does document that a 429 (error 20429) was never
// processed, so that is transient and not MaybeSent.
//
// Twilio has no rate limit on this endpoint: it limits the requests an
// account has in flight, counts them in every answer
// (Twilio-Concurrent-Requests), and answers 429 (error 20429) over the limit,
// with the count in provider.Error.InFlight. The worker learns the limit from
// the first such 429 (worker/concurrency.go), so the client does not claim
// to state no rate limit (provider.SilentLimit): its queue needs no cautious
// start.
//
// Errors are {"code", "message", "more_info", "status"}; the code becomes
// provider.Error.Code (21211 invalid To, 21610 unsubscribed recipient, 21408
// region not enabled, 21614 not a mobile number, ...).
//
// The fake server for tests lives in twiliofake.
package twilio
