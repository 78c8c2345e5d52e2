// Command symphony-bench measures the real sidecar on the benchmark cluster and
// writes the figures scripts/bench.sh collects, one JSON line each:
//
//	throughput  end to end: preload N email messages, turn the master flag on,
//	            time the built sidecar (a subprocess) until every one succeeded;
//	            with the log provider or through a loopback fake of Resend's API.
//	            Also the sidecar's peak RSS (VmHWM).
//	latency     wake latency from INSERT commit to the provider's request, idle
//	            and under a steady background load.
//	dispatch    single-row inserts from 8 clients with and without the NOTIFY
//	            trigger, and bulk inserts.
//	history     claim cost (claim.sql, 100 at a time) with 0, 1M, 10M finished
//	            messages in the table.
//	dashboard   the dashboard's pages with 10M finished messages over 14 days in
//	            history (time to the last byte), and symphony.roll_up(): its
//	            first catch-up over that history, and one minute's worth.
//	report      turn the collected lines into docs/benchmarks.md.
//
// The database must have the migrations applied (scripts/bench.sh does that);
// each subcommand empties symphony.messages first. Nothing here is a test: it
// prints figures and never fails on a speed.
package main
