// Package chaos proves the delivery invariants of DESIGN.md under faults: the
// real sidecar binary, several at once, killed with SIGKILL over and over and
// redeployed with SIGTERM, while its PostgreSQL is crashed and restarted and
// the provider fakes fail about a third of their requests. Afterwards every message must be final, none lost,
// and duplicates at the provider must be zero where an idempotency key applies
// (Resend) and flagged where none does (Twilio).
//
// The suite runs against its own cluster, `scripts/db.sh … chaos` (port 54339,
// durable), never the shared test cluster: restarting that would break every
// other test run on the machine. Runs take a file lock, so two processes never
// restart the chaos cluster under each other.
//
// By default `go test` runs a short version (3 kills, 1 deploy, 1 restart,
// ~30 s) so CI stays fast; SYMPHONY_CHAOS=full, or scripts/chaos.sh, runs the
// long one.
// The harness here (cluster control, sidecar processes, the tally) is only
// used by this package's tests.
package chaos
