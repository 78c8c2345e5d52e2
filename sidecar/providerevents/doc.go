// Package providerevents receives what the providers post in, their
// delivery-status webhooks, and records
// what they say: Resend (signed by Svix), SendGrid's Signed Event Webhook,
// Postmark (HTTP Basic credentials in the webhook URL; Postmark signs nothing)
// and Twilio's status callbacks and inbound messages (X-Twilio-Signature).
//
// Each request is verified before anything in it is believed, and refused on
// its headers where they suffice, before its body is read: unsigned or
// wrongly signed requests get 401 or 403, stale ones (outside the scheme's
// timestamp tolerance) 403, malformed bodies 400, bodies over the provider's
// cap 413. Only MaxReading bodies are read at once; more get 503. A
// verified request becomes Events in the providers' common vocabulary (sent,
// delayed, delivered, undelivered, bounced, complained, and SMS opt-outs and
// opt-ins), recorded by symphony.record_delivery in one statement; 2xx is
// answered only once they are stored, so a provider retries anything we could
// not store. Recording is idempotent, because providers deliver at least once
// and out of order.
//
// The server is meant for its own listener (SYMPHONY_WEBHOOK_ADDR), the only
// port the sidecar exposes to the internet, so exposing it does not expose
// /metrics or /status. A provider's route exists only when its secret is
// configured; otherwise it answers 404.
package providerevents
