// Package memlimit fits the Go runtime to the machine the sidecar runs in: it
// reads the memory limit of the sidecar's cgroup (what a container or a Fly
// machine allows) and sets the runtime's soft memory limit from it, unless
// GOMEMLIMIT says otherwise, so that the garbage collector works harder as
// the limit nears instead of the kernel killing the process. With that
// guard in place it also lets the heap grow to twice the live data between
// collections (GOGC=200, unless GOGC is set), which costs a third less CPU
// at high throughput for a few MiB.
package memlimit
