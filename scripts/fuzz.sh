#!/usr/bin/env bash
# Run every Go fuzz target (func FuzzXxx in sidecar/) with `go test -fuzz`, one after another.
#
#   scripts/fuzz.sh [--time D] [--match REGEX] [--workers N]
#
# --time     how long each target fuzzes: a duration (default 10s; 10m for a hunt) or a count of
#            inputs (2000x, what scripts/test.sh uses). Go 1.26 may end a duration with a bare
#            "context deadline exceeded" failure and no failing input (go.dev/issue/75804, fixed
#            in Go 1.27): that is the toolchain, not the target; a count never hits it.
# --match    only targets whose name matches REGEX (e.g. --match Decode)
# --workers  fuzzing processes per target (default 1: the machine is shared)
#
# Plain `go test ./...` already replays every target's seeds and saved corpus. A failing input
# is saved under the package's testdata/fuzz/<target>/; commit it with the fix, so it stays a test.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

time=10s match=. workers=1
while (($#)); do
	case $1 in
	--time) time=${2:?--time needs a duration} ;;
	--match) match=${2:?--match needs a regex} ;;
	--workers) workers=${2:?--workers needs a number} ;;
	-h | --help) usage ;;
	*)
		echo "fuzz.sh: unknown argument $1" >&2
		usage
		;;
	esac
	shift 2
done

found=0
while IFS=: read -r file name; do
	[[ $name =~ $match ]] || continue
	found=$((found + 1))
	dir=./$(dirname "$file")
	echo "==> $name ($dir, $time)" >&2
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -parallel "$workers" "$dir"
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' sidecar | sed 's/func //' | sort)
((found > 0)) || {
	echo "fuzz.sh: no fuzz target matches $match" >&2
	exit 1
}
echo "fuzz.sh: $found targets fuzzed for $time each" >&2
