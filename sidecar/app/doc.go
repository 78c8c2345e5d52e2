// Package app wires the sidecar together: configuration in, a database pool,
// the listener, the worker and the HTTP API out. Main.Run is the whole daemon,
// so end-to-end tests start the real thing in-process.
package app
