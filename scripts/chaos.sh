#!/usr/bin/env bash
# Run the chaos suite at full strength and print its tally.
#
#   scripts/chaos.sh [--kills N] [--deploys N] [--restarts N] [--messages N] [--seconds S]
#
# Defaults: 20 kill -9 of a sidecar, 5 SIGTERM restarts (deploys), 3 PostgreSQL restarts (crash and clean, alternately),
# 3000 messages over 120 s, 3 sidecars at once, ~30% of provider requests failing. It runs
# TestChaos_Suite (sidecar/internal/chaos) with SYMPHONY_CHAOS=full: the real sidecar binary
# against the private `chaos` cluster (scripts/db.sh, port 54339), never the shared test
# cluster. Plain `go test ./...` runs a short version of the same test.
#
# The tally is printed at the end and kept, with the sidecars' logs, in a directory under
# ${TMPDIR:-/tmp} named on the last line. Exits non-zero if an invariant failed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

export SYMPHONY_CHAOS=full
while (($#)); do
	case $1 in
	--kills) SYMPHONY_CHAOS_KILLS=${2:?--kills needs a number} ;;
	--deploys) SYMPHONY_CHAOS_DEPLOYS=${2:?--deploys needs a number} ;;
	--restarts) SYMPHONY_CHAOS_RESTARTS=${2:?--restarts needs a number} ;;
	--messages) SYMPHONY_CHAOS_MESSAGES=${2:?--messages needs a number} ;;
	--seconds) SYMPHONY_CHAOS_SECONDS=${2:?--seconds needs a number} ;;
	-h | --help) usage ;;
	*)
		echo "chaos.sh: unknown argument $1" >&2
		usage
		;;
	esac
	shift 2
done
export SYMPHONY_CHAOS_KILLS SYMPHONY_CHAOS_DEPLOYS SYMPHONY_CHAOS_RESTARTS SYMPHONY_CHAOS_MESSAGES SYMPHONY_CHAOS_SECONDS

out=$(mktemp -d "${TMPDIR:-/tmp}/symphony-chaos.XXXXXX")
export SYMPHONY_CHAOS_TALLY=$out/tally.txt SYMPHONY_CHAOS_LOGS=$out/logs

status=0
go test -count=1 -timeout 30m -run '^TestChaos_Suite$' -v ./sidecar/internal/chaos/ >"$out/test.log" 2>&1 || status=$?
if ((status != 0)); then
	tail -n 80 "$out/test.log" >&2
	echo "chaos.sh: FAILED (exit $status); full output in $out/test.log" >&2
fi
if [[ -f $out/tally.txt ]]; then
	cat "$out/tally.txt"
fi
echo "chaos.sh: test output, tally and sidecar logs in $out"
exit "$status"
