// Package remote is the home of the kinds registered in symphony.kinds with
// a remote handler ('edge_function' or 'webhook'): each attempt is delivered
// to the kind's endpoint through outhook. Registry routes every kind to its
// handler: the built-in ones, and the remote ones, reloaded when
// symphony.kinds changes (routing is lock-free).
package remote
