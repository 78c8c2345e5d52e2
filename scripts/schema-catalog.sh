#!/usr/bin/env bash
# Describe, or compare, what the migrations create in a database: its catalog, normalized so
# that two databases built by different migration files compare line by line.
#
#   scripts/schema-catalog.sh dump URL [--no-cron]          print the catalog of the database at URL
#   scripts/schema-catalog.sh diff URL_A URL_B [--no-cron]  compare two databases' catalogs
#   scripts/schema-catalog.sh against REV                   compare the migrations at git revision
#                                                           REV with the working tree's
#
# The catalog (scripts/schema-catalog.sql lists what it covers) holds schemas, tables, columns,
# constraints, indexes, functions with their full definitions and attributes, triggers, views,
# sequences, policies, publications, comments, privileges, owners, the seed rows and pg_cron's
# jobs; no OIDs, times or creation order. --no-cron leaves pg_cron (the extension and its jobs)
# out: the migration guide's Phase 1 applies the schema with psql -f to a database without
# pg_cron, where the jobs are skipped on purpose and the sidecar's timers do their work.
#
# diff exits 1 and prints a unified diff (A = -, B = +) when the catalogs differ.
#
# against REV is how a fold is checked: fold migrations, then
#   scripts/schema-catalog.sh against HEAD      (or the commit before the fold)
# It re-creates the private `catalog` cluster (scripts/db.sh, pg_cron included) once for each
# side, applies that side's supabase/migrations/*.sql in name order with psql -f to database
# postgres, dumps the catalog with pg_cron's jobs, and compares: REV = -, working tree = +.
# The cluster is stopped afterwards. Uncommitted changes in the working tree count.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

die() {
	echo "schema-catalog.sh: $*" >&2
	exit 1
}

# dump URL on|off: the catalog, one fact a line, sorted.
dump() {
	psql "$1" -X -q -v ON_ERROR_STOP=1 -v with_cron="$2" -f "$repo_root/scripts/schema-catalog.sql"
}

# where URL: the URL without its user, password and parameters, to name a database in output.
where() {
	sed -E 's#://[^@/]*@#://#; s#\?.*##' <<<"$1"
}

# compare LABEL_A FILE_A LABEL_B FILE_B: say whether two dumps are equal; diff when not.
compare() {
	# Two empty catalogs are equal, and prove nothing.
	grep -q '^relation ' "$2" || die "the catalog of $1 holds no tables: did the migrations run?"
	grep -q '^relation ' "$4" || die "the catalog of $3 holds no tables: did the migrations run?"
	if diff -u --label "$1" --label "$3" "$2" "$4"; then
		echo "schema-catalog.sh: catalogs equal ($(wc -l <"$2") lines): $1 = $3" >&2
	else
		echo "schema-catalog.sh: catalogs differ: $1 (-) vs $3 (+)" >&2
		return 1
	fi
}

# apply_files URL FILE...: run each migration with psql -f, in the order given.
apply_files() {
	local url=$1 f
	shift
	for f in "$@"; do
		PGOPTIONS='-c client_min_messages=warning' \
			psql "$url" -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null ||
			die "applying $(basename "$f") failed"
	done
}

# catalog_of DIR OUT: apply DIR's *.sql to a fresh catalog cluster and dump its catalog to OUT.
catalog_of() {
	local dir=$1 out=$2 url
	local -a files
	shopt -s nullglob
	files=("$dir"/*.sql)
	shopt -u nullglob
	((${#files[@]} > 0)) || die "no migrations in $dir"
	"$repo_root/scripts/db.sh" reset catalog >/dev/null
	url=$("$repo_root/scripts/db.sh" url catalog)
	apply_files "$url" "${files[@]}"
	dump "$url" on >"$out"
}

against() {
	local rev=$1 work
	git -C "$repo_root" rev-parse --verify --quiet "$rev^{commit}" >/dev/null || die "no commit $rev"
	work=$(mktemp -d "${TMPDIR:-/tmp}/schema-catalog.XXXXXX")
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -rf '$work'; '$repo_root/scripts/db.sh' stop catalog >/dev/null 2>&1 || true" EXIT
	mkdir -p "$work/rev"
	git -C "$repo_root" archive "$rev" supabase/migrations | tar -x -C "$work/rev"
	echo "schema-catalog.sh: applying the migrations of $rev" >&2
	catalog_of "$work/rev/supabase/migrations" "$work/rev.catalog"
	echo "schema-catalog.sh: applying the working tree's migrations" >&2
	catalog_of "$repo_root/supabase/migrations" "$work/tree.catalog"
	compare "migrations at $rev" "$work/rev.catalog" "working tree" "$work/tree.catalog"
}

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
case $cmd in
dump)
	(($# >= 1)) || usage
	cron=on
	[[ ${2:-} == --no-cron ]] && cron=off
	dump "$1" "$cron"
	;;
diff)
	(($# >= 2)) || usage
	cron=on
	[[ ${3:-} == --no-cron ]] && cron=off
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/schema-catalog.XXXXXX")
	# shellcheck disable=SC2064 # expand $tmp now
	trap "rm -rf '$tmp'" EXIT
	dump "$1" "$cron" >"$tmp/a"
	dump "$2" "$cron" >"$tmp/b"
	compare "$(where "$1")" "$tmp/a" "$(where "$2")" "$tmp/b"
	;;
against)
	(($# == 1)) || usage
	against "$1"
	;;
*) usage ;;
esac
