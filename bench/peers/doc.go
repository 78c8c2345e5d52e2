// Command peers runs the queues Symphony is compared with, on the same
// benchmark cluster and the same work: River (with its pgx driver) and a bare
// pgx claim loop. Each run preloads N no-op jobs, starts the consumer, and
// prints one JSON line per figure on stdout, which scripts/bench.sh collects.
//
// It is a module of its own so that River never becomes a dependency of the
// sidecar: `go list -m all` at the repository root does not name it.
//
//	go run . river  -db URL -n 200000 -workers 100            (River's default fetch settings)
//	go run . river  -db URL -n 200000 -workers 1000 -tuned    (fetch cooldown 2 ms, poll 20 ms)
//	go run . bare   -db URL -n 200000 -batch 100
package main
