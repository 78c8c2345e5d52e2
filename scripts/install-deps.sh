#!/usr/bin/env bash
# Install what the scripts and tests need: PostgreSQL 15 with pg_cron and pgTAP, pg_prove, chromium,
# promtool (Debian's prometheus package), the pinned Supabase CLI (into .tools/), and the Go modules.
#
# Idempotent and quick when everything is already there, so dev.sh and test.sh call it
# every time. Non-interactive; apt-get runs only when a package is missing.
set -euo pipefail

# The Supabase CLI version is pinned: `db push` behaviour has changed between releases.
SUPABASE_CLI_VERSION=2.117.0
APT_PACKAGES=(
	postgresql-15
	postgresql-15-cron
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl # pg_prove
	chromium                               # headless browser for the dashboard test
	prometheus                             # promtool, to check monitoring/alerts.yml
)

die() {
	echo "install-deps.sh: $*" >&2
	exit 1
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

command -v go >/dev/null 2>&1 ||
	die "Go is not installed or not on PATH; install the version go.mod asks for (https://go.dev/dl/)"

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# The Supabase CLI comes from npm; a machine without Node.js gets Debian's.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
	is_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
	command -v apt-get >/dev/null 2>&1 ||
		die "missing ${missing[*]}, and apt-get is not available; install them by hand"
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}; run this script as root or install sudo"
		sudo=(sudo)
	fi
	echo "install-deps.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's postgresql package creates and may start a system cluster on port 5432; ours run
# on their own ports, so it does no harm and we leave it alone.

cli_pkg=.tools/node_modules/supabase/package.json
installed_version=
if [[ -f $cli_pkg ]]; then
	installed_version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$cli_pkg" | head -n 1)
fi
if [[ $installed_version != "$SUPABASE_CLI_VERSION" ]]; then
	command -v npm >/dev/null 2>&1 || die "npm is needed to install the Supabase CLI and apt-get could not provide it; install Node.js and npm"
	echo "install-deps.sh: installing supabase@$SUPABASE_CLI_VERSION into .tools/" >&2
	npm install --prefix .tools --no-audit --no-fund --loglevel=error "supabase@$SUPABASE_CLI_VERSION" >/dev/null
fi

go mod download
