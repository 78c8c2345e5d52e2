// Package msgtype holds the types every layer of the sidecar shares about a
// message's handling: the claimed Message, the Handler of a kind (and the
// Preparer, Job and BatchHandler shapes a handler may also take), and the
// ways an attempt ends besides success or a transient error: Permanent,
// Cancel and Defer. It is a leaf, as River's rivertype is: it imports only the
// standard library, so the queue, the worker and every kind's package import
// it and none of them imports another's internals.
package msgtype
