// Package metrics defines the sidecar's Prometheus metrics in one place, so the
// worker, the listener and the HTTP API record into the same registry.
package metrics
