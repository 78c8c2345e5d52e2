#!/usr/bin/env bash
# Deploy the sidecar to Fly.io, after checking what a deploy cannot fix later:
#   1. the fly CLI is installed and logged in;
#   2. the app's secrets include DATABASE_URL (and, if set, a long enough
#      SYMPHONY_DASHBOARD_TOKEN cannot be checked here: the sidecar refuses a
#      short one at start-up and the machine check fails);
#   3. the schema migrations are applied to the database the sidecar will use
#      (checked when DATABASE_URL is set in this shell and psql is installed;
#      otherwise a reminder).
# Then `fly deploy` with the version from git, passing any extra arguments on.
#
#   scripts/deploy.sh                 # the app named in fly.toml
#   scripts/deploy.sh --app my-app    # another app (staging, say)
#
# Several sidecars: `fly scale count 3` (they share the queue safely).
set -euo pipefail

die() {
	echo "deploy.sh: $*" >&2
	exit 1
}
note() { echo "deploy.sh: $*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

fly=
for candidate in fly flyctl; do
	if command -v "$candidate" >/dev/null 2>&1; then
		fly=$candidate
		break
	fi
done
[[ -n $fly ]] || die "the fly CLI is not installed (see Fly.io's flyctl install guide), or not on PATH"

# --app NAME (or -a NAME) is used for the checks too, and passed on to fly deploy.
app_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	--app | -a) app_args=(--app "${args[i + 1]:-}") ;;
	--app=*) app_args=(--app "${args[i]#--app=}") ;;
	esac
done

"$fly" auth whoami >/dev/null 2>&1 || die "not logged in to Fly.io: run '$fly auth login'"

secrets=$("$fly" secrets list "${app_args[@]}" --json 2>&1) ||
	die "could not list the app's secrets (does the app exist? 'fly launch --no-deploy --copy-config'): $secrets"
has_secret() { grep -q "\"$1\"" <<<"$secrets"; }
has_secret DATABASE_URL ||
	die "secret DATABASE_URL is not set: fly secrets set DATABASE_URL='postgresql://postgres:…@db.<ref>.supabase.co:5432/postgres'"
if ! has_secret RESEND_API_KEY && ! has_secret SENDGRID_API_KEY && ! has_secret POSTMARK_SERVER_TOKEN && ! has_secret TWILIO_AUTH_TOKEN; then
	note "no provider credentials among the secrets: the sidecar will use the log providers and send nothing"
fi
if has_secret SYMPHONY_DASHBOARD_TOKEN; then
	note "SYMPHONY_DASHBOARD_TOKEN is set: the dashboard listens on :8081 (fly proxy 8081 reaches it; fly.toml's dashboard block publishes it on :8443)"
fi

# Migrations: every file in supabase/migrations must be applied before the new
# sidecar runs (it reads the views and functions they create).
if [[ -n ${DATABASE_URL:-} ]] && command -v psql >/dev/null 2>&1; then
	applied=$(psql "$DATABASE_URL" -XAtq -c \
		"select version from supabase_migrations.schema_migrations" 2>/dev/null) ||
		die "could not read supabase_migrations.schema_migrations with DATABASE_URL; apply the migrations with 'supabase db push' (or unset DATABASE_URL to skip this check)"
	missing=()
	for f in supabase/migrations/*.sql; do
		v=$(basename "$f")
		v=${v%%_*}
		grep -qx "$v" <<<"$applied" || missing+=("$(basename "$f")")
	done
	((${#missing[@]} == 0)) || die "migrations not applied to DATABASE_URL: ${missing[*]}; run 'supabase db push' first"
	note "all $(find supabase/migrations -name '*.sql' | wc -l) migrations are applied"
else
	note "reminder: apply the migrations first ('supabase db push'); set DATABASE_URL here to have this checked"
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
note "deploying version $version"
"$fly" deploy --build-arg "VERSION=$version" "$@"
note "done. Watch it with '$fly status' and '$fly logs'; run more sidecars with '$fly scale count 3'"
