// Package httpx owns the one HTTP client every provider package sends through:
// a net/http client built on go-retryablehttp with Symphony's own retry policy,
// a User-Agent, an slog adapter for the retry library's logger, and small
// helpers the providers share (reading a bounded response body, parsing
// Retry-After and rate-limit reset headers, telling whether a failed request
// ever reached the server).
//
// # Why in-process retries are short and careful
//
// The queue already retries a failed message with backoff across attempts, so
// retries here only smooth over blips that would otherwise cost a whole queue
// attempt. They are therefore few (RetryMax, 2 by default) and quick
// (RetryWaitMin..RetryWaitMax, 100ms..1s by default), and they never outlive the
// request's context deadline.
//
// Every provider call is a POST that sends a message, and repeating a POST whose
// outcome is unknown can send the message twice. The policy therefore sorts
// every failure by what it proves:
//
//   - The request never reached the server (dial, DNS or connection refused):
//     repeating it is safe for any request, so it is retried.
//   - The outcome is unknown (reset or timeout after the request was written, or
//     a 5xx, which says the server saw the request but not whether it acted):
//     retried only when the request is marked with WithReplaySafe, which a
//     provider does when it sends an idempotency key the server honours
//     (Resend's Idempotency-Key). Otherwise the failure goes straight back to the
//     provider package to classify, and to the queue.
//   - The server asked us to wait (429, or any response with Retry-After): not
//     retried here. The wait may be long, and cross-sidecar rate limiting lives
//     in SQL; the provider reports RetryAfter and the queue honours it.
//   - Anything else (4xx, redirects, TLS certificate failures) is not retried.
//
// When the in-process retries are used up, the last response (not a generic
// "giving up" error) is handed back, so the provider can classify it.
//
// Logging goes through an adapter to *slog.Logger. The retry library logs the
// method, the URL and transport errors; the adapter cuts every URL to its
// scheme and host (RedactURLs), because a webhook's path or query may hold the
// receiver's token. The library never sees request or response bodies or
// headers, so credentials, which travel in headers, cannot reach the log.
package httpx
