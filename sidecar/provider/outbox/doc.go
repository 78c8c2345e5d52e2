// Package outbox is the "log" email and SMS provider, the default: nothing
// leaves the machine. Every message is written as a structured log line and kept
// in a bounded in-memory outbox that the sidecar serves as a browsable page
// (/outbox) and as JSON (/outbox.json), so a developer sees exactly what would
// have been sent.
package outbox
