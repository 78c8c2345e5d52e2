#!/usr/bin/env bash
# Run every test: the migrations (through the Supabase CLI and through plain psql, which must
# build the same catalog: scripts/schema-catalog.sh; and on a Supabase-shaped cluster as a
# non-superuser), the pgTAP tests in supabase/tests, the Prometheus alerting rules (promtool),
# `go test ./...`, the race detector on the packages whose goroutines share state, a short
# fuzzing run and a smoke run of the benchmarks (every one runs and prints; no speed is
# asserted). CI (.ci/run) runs exactly this, with no arguments.
#
#   scripts/test.sh [go test flags...]      e.g. scripts/test.sh -run TestQueue_ -v
#
# Everything runs against the private, throwaway `test` cluster (scripts/db.sh, port 54329),
# which is re-created on every run so edited migrations apply to a clean database.
#
# Without go test flags, after the plain `go test ./...`:
#   - `go test -race` on the packages with concurrency: worker (producers, slots, completer,
#     watchdog), queue, listener, walfeed and app (the whole sidecar in-process, which is also
#     what runs the listener's and the WAL feed's goroutines). Measured on a shared 2-core
#     machine with a warm build cache: 2m06s against 4m05s for the plain `go test ./...` at a
#     load average of 10-14, and 4m48s against 7m06s at about 20; a cold cache adds the race
#     build of the dependencies (7m02s in all, at a load of about 10). Each step's start time
#     is printed.
#     Four tests whose assertions are about timing, not about shared state, are left out of
#     this step only (the plain step runs them), because the race detector's slowdown breaks
#     their premises: TestMain_DispatchesNotifyOnlyWhileASidecarListens needs 4 clients to
#     dispatch faster than a sidecar's busy threshold (20 notifications in 100 ms);
#     TestWorker_LooksAgainShortlyAfterStartingToListen needs the first look after listening
#     to take less than the 50 ms before the second; TestWorker_WakeThatFindsNothingLooksAgain
#     needs its second look within the 10 ms recheck; TestProviders_RateLimitSharedAcrossSidecars
#     allows 300 ms between taking a token and the request reaching the provider.
#     The listener's own test (a LISTEN connection killed and re-made, its callbacks called
#     from its goroutine) runs here too, beside the app tests that drive it.
#   - every fuzz target for SYMPHONY_TEST_FUZZTIME (default 2000x: 2,000 inputs each;
#     scripts/fuzz.sh). A count, not a duration: Go 1.26's fuzzing coordinator can fail a target
#     with a bare "context deadline exceeded" when a -fuzztime duration runs out mid-input
#     (go.dev/issue/75804, fixed in 1.27);
#   - the benchmarks' smoke run.
# With go test flags only the plain go test runs after pgTAP (SYMPHONY_TEST_RACE=1 adds -race
# to it, for any package). Each step prints the seconds elapsed since the start.
# Exits non-zero on the first failing stage.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

# One run at a time per machine: a second run would re-create the cluster under the first.
# flock -o keeps the lock out of the children, so the database server never holds it.
lock=${TMPDIR:-/tmp}/symphony-test-run.lock
if [[ -z ${SYMPHONY_TEST_RUN_LOCKED:-} ]]; then
	export SYMPHONY_TEST_RUN_LOCKED=1
	flock -n "$lock" true || echo "test.sh: waiting for another scripts/test.sh run to finish" >&2
	exec flock -o "$lock" "$repo_root/scripts/test.sh" "$@"
fi

step() {
	echo "==> $* (${SECONDS}s)" >&2
}

step "dependencies"
scripts/install-deps.sh

step "fresh test cluster"
scripts/db.sh reset test >/dev/null
url=$(scripts/db.sh url test)

step "supabase db push (database postgres)"
scripts/db.sh push test

# The migration guide's Phase 1 applies the schema with plain psql, file by file, on a
# database without pg_cron. Prove that path too, in a database of its own.
step "psql -f, file by file (database symphony_psql_check)"
PGOPTIONS='-c client_min_messages=warning' scripts/db.sh psql test -X -q -v ON_ERROR_STOP=1 \
	-c 'drop database if exists symphony_psql_check with (force)' \
	-c 'create database symphony_psql_check'
check_url=$(scripts/db.sh url test symphony_psql_check)
shopt -s nullglob
migrations=(supabase/migrations/*.sql)
for f in "${migrations[@]}"; do
	echo "    $f" >&2
	# Notices (such as "pg_cron cannot be used in this database") are expected here.
	PGOPTIONS='-c client_min_messages=warning' \
		psql "$check_url" -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done

# Both paths must build the same schema: tables, columns, constraints, indexes, functions,
# triggers, views, grants, comments and seed rows (scripts/schema-catalog.sh). pg_cron is
# left out of the comparison: only database postgres can have it (cron.database_name), and
# Phase 1's database has none on purpose; pgTAP's cron.test.sql checks the jobs.
step "same catalog after supabase db push and after psql -f (pg_cron aside)"
scripts/schema-catalog.sh diff "$url" "$check_url" --no-cron

# The same migrations on a database shaped like a Supabase project (postgres not a
# superuser, pg_cron installed by the platform, the API roles' default privileges), applied
# by the CLI as postgres. go test runs docs/supabase.md and the Advisors' checks there
# (sidecar/internal/supabasecheck).
step "supabase db push as postgres, not a superuser (supabase cluster)"
scripts/db.sh reset supabase >/dev/null
scripts/db.sh push supabase
supabase_url=$(scripts/db.sh url supabase)

step "pgTAP (pg_prove, database postgres)"
tests=(supabase/tests/*.test.sql)
if ((${#tests[@]} == 0)); then
	echo "    no pgTAP tests in supabase/tests yet; skipping" >&2
else
	# pg_prove does not take a URL: spell out host, port, user and database.
	port=${url#*@127.0.0.1:}
	port=${port%%/*}
	pg_prove --host 127.0.0.1 --port "$port" --username postgres --dbname postgres "${tests[@]}"
fi

# The same pgTAP tests as postgres without superuser, on the Supabase-shaped cluster.
step "pgTAP (pg_prove, supabase cluster, as postgres)"
if ((${#tests[@]} > 0)); then
	port=${supabase_url#*@127.0.0.1:}
	port=${port%%/*}
	pg_prove --host 127.0.0.1 --port "$port" --username postgres --dbname postgres "${tests[@]}"
fi

step "alerting rules (promtool check rules, promtool test rules)"
promtool check rules monitoring/alerts.yml
promtool test rules monitoring/alerts_test.yml

step "go test ./..."
race=()
if [[ ${SYMPHONY_TEST_RACE:-} == 1 ]]; then
	race=(-race)
fi
SYMPHONY_TEST_DATABASE_URL=$url SYMPHONY_SUPABASE_DATABASE_URL=$supabase_url \
	go test -count=1 "${race[@]}" "$@" ./...

# The race detector where goroutines share state. Its own step, so the plain run above keeps
# its speed and this one names what it covers. The tests that assert a wake-up or a rate within
# a few milliseconds ran in the plain step above; under the race detector's slowdown their
# windows (the 10 ms recheck, the 50 ms second look, 100 ms of rate slack) no longer hold.
if (($# == 0)); then
	race_packages=(./sidecar/worker ./sidecar/queue ./sidecar/listener ./sidecar/walfeed ./sidecar/app)
	step "go test -race ${race_packages[*]}"
	timing_tests='^(TestMain_DispatchesNotifyOnlyWhileASidecarListens|TestWorker_LooksAgainShortlyAfterStartingToListen|TestWorker_WakeThatFindsNothingLooksAgain|TestProviders_RateLimitSharedAcrossSidecars)$'
	SYMPHONY_TEST_DATABASE_URL=$url go test -count=1 -race -skip "$timing_tests" "${race_packages[@]}"
fi

# go test replays the fuzz targets' seeds; a full run also fuzzes each briefly for new inputs.
if (($# == 0)); then
	step "fuzz (${SYMPHONY_TEST_FUZZTIME:-2000x} per target)"
	scripts/fuzz.sh --time "${SYMPHONY_TEST_FUZZTIME:-2000x}"
fi

# A full run also checks that every benchmark still runs and prints its figure, at tiny
# sizes on the benchmark cluster (scripts/bench.sh --smoke). It asserts no speed: the
# figures of a smoke run mean nothing, and scripts/bench.sh alone measures.
if (($# == 0)); then
	step "benchmarks, smoke run (scripts/bench.sh --smoke)"
	scripts/bench.sh --smoke >/dev/null
	echo "    every benchmark ran; the table is in .tmp/bench/benchmarks-smoke.md" >&2
fi
