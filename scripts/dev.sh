#!/usr/bin/env bash
# Run Symphony locally: a private PostgreSQL with pg_cron and the schema, and the sidecar in
# the foreground with the `log` providers, which send nothing and show everything.
#
#   scripts/dev.sh [symphony args...]
#
# Stop with Ctrl-C; the database keeps running (scripts/db.sh stop dev stops it).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

step() {
	echo "==> $*" >&2
}

step "dependencies"
scripts/install-deps.sh

step "dev database"
url=$(scripts/db.sh start dev)

step "migrations (supabase db push)"
scripts/db.sh push dev

step "master flag on"
scripts/db.sh psql dev -X -q -v ON_ERROR_STOP=1 \
	-c "update symphony.flags set enabled = true where name = 'symphony'"

step "build bin/symphony"
go build -o bin/symphony ./sidecar/cmd/symphony

http_addr=${SYMPHONY_HTTP_ADDR:-:8080}
http_port=${http_addr##*:}
cat >&2 <<EOF_HELP

Symphony is starting. Dispatch a message from another terminal:

  scripts/db.sh psql dev -c "INSERT INTO symphony.messages (kind, payload) VALUES ('email.send', '{\"to\":\"a@example.com\",\"from\":\"me@example.com\",\"subject\":\"hi\",\"text\":\"hello\"}')"

Then see it:
  captured email   http://127.0.0.1:$http_port/outbox (and in the log below)
  its row          scripts/db.sh psql dev -c "select id, kind, state, attempts from symphony.messages"
  database log     scripts/db.sh log dev

Changed a migration that was already applied? scripts/db.sh reset dev starts from scratch.

EOF_HELP

DATABASE_URL=$url \
	SYMPHONY_EMAIL_PROVIDER=log \
	SYMPHONY_SMS_PROVIDER=log \
	SYMPHONY_LOG_FORMAT=text \
	exec bin/symphony "$@"
