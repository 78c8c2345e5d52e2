// Package httpapi serves the sidecar's HTTP endpoints: /healthz (the process is
// alive), /readyz (the database answers and the LISTEN connection is up),
// /metrics (Prometheus), /status (a JSON summary: this sidecar, and with Ops
// the whole cluster from the operations views) and, with the log providers,
// /outbox.
package httpapi
