// Package outhook delivers a message out, to an HTTP endpoint of the user's, so
// teams can handle their own kinds outside the sidecar: a Supabase Edge Function
// (POST {SUPABASE_URL}/functions/v1/<name> with the service-role key) or any
// URL (signed with SYMPHONY_WEBHOOK_SECRET). Both get the same body, the same
// idempotency key on every attempt, and the same classification as the email
// and SMS providers: 2xx succeeds; 408, 425, 429, 5xx, timeouts and connection
// errors are retried; any other 4xx is permanent. A target's URL may carry the
// receiver's token in its path or query: errors quote only its host.
//
// supabase-go's functions client (the only served version, v0.0.4) has no
// public Invoke, so Edge Functions are called over the shared httpx client.
//
// Webhooks that come in, the providers' delivery events, are package
// providerevents.
package outhook
