#!/usr/bin/env bash
# Manage a private PostgreSQL 15 cluster with pg_cron for development and tests.
#
#   scripts/db.sh start|stop|reset|status|url|log|psql|push [dev|test|chaos|bench|supabase|catalog] [args...]
#   e.g. scripts/db.sh psql dev -c 'select * from symphony.flags'
#
# Six named clusters, so a running dev sidecar, a test run, the chaos suite, the benchmarks,
# the Supabase-shaped check and a schema comparison never share data:
#   dev    port 54322, default durability settings
#   test   port 54329, durability off (fast, disposable), max_connections=300 for parallel tests
#   chaos  port 54339, default durability settings: the chaos suite (scripts/chaos.sh) stops and
#          crashes it on purpose, so what survives a restart must really be on disk
#   bench  port 54349, default durability settings (fsync on), as the published reference
#          figures use; pg_stat_statements preloaded for profiling (scripts/bench.sh)
#   supabase port 54359, shaped like a Supabase project: the bootstrap superuser is
#          supabase_admin, `postgres` is an ordinary role with Supabase's attributes, pg_cron is
#          installed by the admin with Supabase's grants, and anon, authenticated and
#          service_role get Supabase's default privileges on public (docs/supabase.md)
#   catalog port 54369, durability off; re-created for each side of a schema comparison
#          (scripts/schema-catalog.sh against REV), so each gets a pristine database with pg_cron
# SYMPHONY_DB_PORT_SHIFT=N adds N to each port (with its own TMPDIR, a second checkout's clusters).
#
# start   initialise the cluster if needed, start it, create Supabase's standard roles,
#         print the URL. Idempotent: if it is already running it only prints the URL.
# stop    stop the cluster (data is kept). `stop NAME immediate` crashes it instead (no
#         checkpoint; the next start runs crash recovery), as the chaos suite does.
# reset   stop, delete and re-initialise the cluster: a truly clean database.
# status  say whether it is running (exit status 0 when running, 3 when not).
# url     print the connection URL (of database postgres, or of the database named after it).
# log     print the tail of the server log.
# psql    run psql against database postgres; extra args go to psql.
# push    start if needed, then apply supabase/migrations with the pinned Supabase CLI.
#
# The data directory lives under ${TMPDIR:-/tmp}, not in the repository: when this runs as
# root (CI), the server runs as the postgres OS user, who may not be able to enter the clone.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

die() {
	echo "db.sh: $*" >&2
	exit 1
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
name=dev
if [[ ${1:-} == dev || ${1:-} == test || ${1:-} == chaos || ${1:-} == bench || ${1:-} == supabase || ${1:-} == catalog ]]; then
	name=$1
	shift
fi

case $name in
dev) port=54322 ;;
test) port=54329 ;;
chaos) port=54339 ;;
bench) port=54349 ;;
supabase) port=54359 ;;
catalog) port=54369 ;;
esac
# SYMPHONY_DB_PORT_SHIFT moves every cluster's port by that much, so two checkouts can run their
# clusters side by side (with different TMPDIRs, which hold the data directories and locks).
shift_by=${SYMPHONY_DB_PORT_SHIFT:-0}
[[ $shift_by =~ ^[0-9]+$ ]] || die "SYMPHONY_DB_PORT_SHIFT must be a whole number, not '$shift_by'"
port=$((port + shift_by))

datadir=${TMPDIR:-/tmp}/symphony-pg-$name
# The lock file sits beside the data directory because reset deletes the directory.
lockfile=${TMPDIR:-/tmp}/symphony-pg-$name.lock
logfile=$datadir/postgres.log
url_for() {
	echo "postgresql://postgres:postgres@127.0.0.1:$port/$1?sslmode=disable"
}
url=$(url_for postgres)
# The role initdb makes the superuser: postgres, except on the Supabase-shaped cluster.
superuser=postgres
[[ $name == supabase ]] && superuser=supabase_admin

# Server binaries: $PG_BIN if set, else Debian's PostgreSQL 15 layout, else whatever is on PATH.
if [[ -z ${PG_BIN:-} ]]; then
	if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
		PG_BIN=/usr/lib/postgresql/15/bin
	elif command -v initdb >/dev/null 2>&1; then
		PG_BIN=$(dirname "$(command -v initdb)")
	else
		die "PostgreSQL 15 server binaries not found; run scripts/install-deps.sh (or set PG_BIN)"
	fi
fi

# postgres refuses to run as root, so as root the server tools run as the postgres OS user,
# from / because the caller's directory may be one that user cannot enter.
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

is_running() {
	[[ -f $datadir/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" status -D "$datadir" >/dev/null 2>&1
}

print_log_tail() {
	if [[ -f $logfile ]]; then
		echo "--- last lines of $logfile ---" >&2
		tail -n 30 "$logfile" >&2
	fi
}

# Serialise start/stop/reset: parallel `go test` processes may all ask to start the cluster.
take_lock() {
	exec 9>>"$lockfile"
	flock 9
}

init_cluster() {
	local parent out
	parent=$(dirname "$datadir")
	# No PG_VERSION means an earlier initdb did not finish: start over.
	rm -rf "$datadir"
	mkdir -p "$datadir"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres:postgres "$datadir"
		as_pg test -w "$datadir" ||
			die "the postgres user cannot write $datadir (can it enter $parent?); set TMPDIR to a directory it can reach, e.g. TMPDIR=/tmp"
	fi
	chmod 700 "$datadir"
	echo "db.sh: initialising $name cluster in $datadir" >&2
	# --no-sync: a crash during initdb just means running it again.
	out=$(as_pg "$PG_BIN/initdb" -D "$datadir" -U "$superuser" --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync 2>&1) || {
		echo "$out" >&2
		die "initdb failed for the $name cluster"
	}
	# Trust, and only on the socket and loopback: this cluster is for one developer or CI job.
	as_pg tee "$datadir/pg_hba.conf" >/dev/null <<-EOF
		# TYPE  DATABASE  USER  ADDRESS       METHOD
		local   all       all                 trust
		host    all       all   127.0.0.1/32  trust
		host    all       all   ::1/128       trust
		local   replication all               trust
		host    replication all 127.0.0.1/32  trust
		host    replication all ::1/128       trust
	EOF
	echo "include_if_exists = 'symphony.conf'" | as_pg tee -a "$datadir/postgresql.conf" >/dev/null
}

# Settings are rewritten on every start, so a change here reaches existing clusters too.
write_settings() {
	local preload=pg_cron
	# The benchmarks read per-statement costs from pg_stat_statements.
	[[ $name == bench ]] && preload='pg_cron, pg_stat_statements'
	{
		cat <<-EOF
			# Written by scripts/db.sh on every start; edits here are overwritten.
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$datadir'
			timezone = 'UTC'
			log_timezone = 'UTC'
			shared_preload_libraries = '$preload'
			cron.database_name = 'postgres'
			# pg_cron connects back over TCP; name the address we listen on (localhost may be ::1).
			cron.host = '127.0.0.1'
			# The sidecar's optional WAL wake-up feed (SYMPHONY_WAKEUP=wal) decodes the
			# queue's inserts, as on Supabase, where wal_level is logical for Realtime.
			wal_level = logical
		EOF
		if [[ $name == catalog ]]; then
			cat <<-EOF
				# Disposable: re-created for every comparison.
				fsync = off
				synchronous_commit = off
				full_page_writes = off
			EOF
		fi
		if [[ $name == test ]]; then
			cat <<-EOF
				# Disposable: trade durability for speed, and allow many parallel test connections.
				fsync = off
				synchronous_commit = off
				full_page_writes = off
				max_connections = 300
				# Every dropped test database forces a checkpoint; don't bury errors under them.
				log_checkpoints = off
			EOF
		fi
	} | as_pg tee "$datadir/symphony.conf" >/dev/null
}

# SQL creating the API roles a Supabase project has, unless they exist.
api_roles_sql() {
	cat <<-'SQL'
		set client_min_messages = warning;
		do $$
		begin
		  if not exists (select from pg_roles where rolname = 'anon') then
		    create role anon nologin noinherit;
		  end if;
		  if not exists (select from pg_roles where rolname = 'authenticated') then
		    create role authenticated nologin noinherit;
		  end if;
		  if not exists (select from pg_roles where rolname = 'service_role') then
		    create role service_role nologin noinherit bypassrls;
		  end if;
		  if not exists (select from pg_roles where rolname = 'authenticator') then
		    create role authenticator login noinherit;
		  end if;
		end
		$$;
		grant anon, authenticated, service_role to authenticator;
	SQL
}

# The roles a Supabase project has, so grants in migrations apply unchanged.
bootstrap_roles() {
	{
		api_roles_sql
		echo "alter role postgres password 'postgres';"
	} | "$PG_BIN/psql" "$url" -X -q -v ON_ERROR_STOP=1 >/dev/null
}

# The Supabase-shaped cluster: what a Supabase project's database looks like to the migrations
# and to an app, from Supabase's own init scripts (github.com/supabase/postgres). Run as
# supabase_admin; idempotent, like bootstrap_roles.
bootstrap_supabase() {
	{
		api_roles_sql
		cat <<-'SQL'
		do $$
		begin
		  -- postgres owns the project's objects but is not a superuser.
		  if not exists (select from pg_roles where rolname = 'postgres') then
		    create role postgres;
		  end if;
		end
		$$;
		alter role postgres nosuperuser login createdb createrole replication bypassrls password 'postgres';
		alter role anon inherit;
		alter role authenticated inherit;
		alter role service_role inherit;
		alter role anon set statement_timeout = '3s';
		alter role authenticated set statement_timeout = '8s';
		grant anon, authenticated, service_role to postgres;
		grant pg_read_all_data, pg_signal_backend to postgres;
		grant all on database postgres to postgres;
		grant usage, create on schema public to postgres;
		grant usage on schema public to anon, authenticated, service_role;

		create schema if not exists extensions;
		grant all on schema extensions to postgres;
		grant usage on schema extensions to anon, authenticated, service_role;
		alter role postgres set search_path = "$user", public, extensions;

		-- What anon, authenticated and service_role get on anything created in public:
		-- everything, whether postgres (migrations, Studio) or supabase_admin made it.
		alter default privileges for role postgres in schema public
		  grant all on tables to anon, authenticated, service_role;
		alter default privileges for role postgres in schema public
		  grant all on functions to anon, authenticated, service_role;
		alter default privileges for role postgres in schema public
		  grant all on sequences to anon, authenticated, service_role;
		alter default privileges for role supabase_admin in schema public
		  grant all on tables to postgres, anon, authenticated, service_role;
		alter default privileges for role supabase_admin in schema public
		  grant all on functions to postgres, anon, authenticated, service_role;
		alter default privileges for role supabase_admin in schema public
		  grant all on sequences to postgres, anon, authenticated, service_role;

		-- Supabase Auth's helpers, which RLS policies call: the request's JWT, read from the
		-- settings PostgREST makes.
		create schema if not exists auth;
		grant usage on schema auth to postgres, anon, authenticated, service_role;
		create or replace function auth.jwt() returns jsonb language sql stable as $$
		  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
		$$;
		create or replace function auth.uid() returns uuid language sql stable as $$
		  select nullif(auth.jwt() ->> 'sub', '')::uuid
		$$;
		create or replace function auth.role() returns text language sql stable as $$
		  select nullif(auth.jwt() ->> 'role', '')
		$$;
		grant execute on all functions in schema auth to postgres, anon, authenticated, service_role;

		-- pg_cron is enabled by the platform, not by postgres, which gets everything in
		-- schema cron except writing cron.job (cron.schedule does that for it).
		create extension if not exists pg_cron with schema pg_catalog;
		grant usage on schema cron to postgres with grant option;
		grant all on all tables in schema cron to postgres with grant option;
		grant all on all functions in schema cron to postgres with grant option;
		grant all on all sequences in schema cron to postgres with grant option;
		revoke all on table cron.job from postgres;
		grant select on table cron.job to postgres with grant option;

		-- pgTAP, which the platform offers and postgres cannot install itself here.
		do $$
		begin
		  if exists (select from pg_available_extensions where name = 'pgtap') then
		    create extension if not exists pgtap with schema extensions;
		  end if;
		end
		$$;
		SQL
	} | "$PG_BIN/psql" "postgresql://supabase_admin@127.0.0.1:$port/postgres?sslmode=disable" \
		-X -q -v ON_ERROR_STOP=1 >/dev/null
}

# Is anything accepting connections on our port?
port_listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Ports 54322, 54329, 54339, 54349, 54359 and 54369 lie inside Linux's ephemeral range, so while a cluster is down a
# client connection elsewhere can take its port, and then hold it in TIME_WAIT for up to 60 s
# after closing. Busy test runs make that likely; wait it out rather than fail.
start_server() {
	local deadline=$((SECONDS + 90)) warned='' out=''
	# 9>&-: the server must not inherit the lock, or it would hold it for its whole life.
	until out=$(as_pg "$PG_BIN/pg_ctl" start -D "$datadir" -l "$logfile" -w -t 60 2>&1 9>&-); do
		if ! tail -n 5 "$logfile" | grep -q 'Address already in use'; then
			echo "$out" >&2
			return 1
		fi
		if port_listening; then
			echo "db.sh: another server is already listening on 127.0.0.1:$port" >&2
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "db.sh: port $port stayed busy for 90 s" >&2
			return 1
		fi
		if [[ -z $warned ]]; then
			echo "db.sh: port $port is held by a closed connection (TIME_WAIT); retrying for up to 90 s" >&2
			warned=1
		fi
		sleep 2
	done
}

start() {
	take_lock
	if is_running; then
		echo "$url"
		return
	fi
	[[ -f $datadir/PG_VERSION ]] || init_cluster
	write_settings
	if ! start_server; then
		print_log_tail
		die "the $name cluster did not start (see the log above)"
	fi
	if [[ $name == supabase ]]; then
		bootstrap_supabase
	else
		bootstrap_roles
	fi || {
		print_log_tail
		die "could not create the Supabase roles in the $name cluster"
	}
	echo "db.sh: $name cluster running on 127.0.0.1:$port" >&2
	echo "$url"
}

stop() {
	local mode=${1:-fast}
	[[ $mode == fast || $mode == immediate ]] || die "stop mode must be fast or immediate, not $mode"
	take_lock
	if is_running; then
		as_pg "$PG_BIN/pg_ctl" stop -D "$datadir" -m "$mode" -w >/dev/null
		echo "db.sh: $name cluster stopped" >&2
	else
		echo "db.sh: $name cluster is not running" >&2
	fi
}

reset() {
	stop
	rm -rf "$datadir"
	start
}

status() {
	if is_running; then
		echo "$name: running on 127.0.0.1:$port, data in $datadir"
	else
		echo "$name: not running"
		return 3
	fi
}

push() {
	local cli=$repo_root/.tools/node_modules/.bin/supabase
	[[ -x $cli ]] || die "the Supabase CLI is not installed; run scripts/install-deps.sh"
	start >/dev/null
	# --include-all: also apply migrations older than the newest one already applied.
	# --yes: never prompt (CI has no stdin).
	(cd "$repo_root" && "$cli" db push --db-url "$url" --include-all --yes) || {
		print_log_tail
		die "supabase db push failed against the $name cluster"
	}
}

case $cmd in
start) start ;;
stop) stop "${1:-fast}" ;;
reset) reset ;;
status) status ;;
url) url_for "${1:-postgres}" ;;
log) tail -n "${1:-50}" "$logfile" ;;
psql) exec "$PG_BIN/psql" "$url" "$@" ;;
push) push ;;
*) usage ;;
esac
