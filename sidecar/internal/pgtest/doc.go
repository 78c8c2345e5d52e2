// Package pgtest gives each Go test a private PostgreSQL database with every migration in
// supabase/migrations applied.
//
// NewDB clones the database from a template (CREATE DATABASE ... TEMPLATE), which takes
// milliseconds, and drops it when the test ends, so tests can call t.Parallel freely and
// packages can run in parallel processes against the same cluster.
//
// The cluster is named by SYMPHONY_TEST_DATABASE_URL (scripts/test.sh sets it). When that is
// unset, the first NewDB in a process runs `scripts/db.sh start test`, so a plain
// `go test ./...` works from anywhere in the repository.
//
// The template, database symphony_template, is built on demand: the first NewDB in a process
// hashes the migration files and rebuilds the template when its recorded hash (the
// database's comment) differs. A PostgreSQL advisory lock makes concurrent test processes
// build it once. pg_cron can only live in database postgres, and the migration skips it
// elsewhere, so cloned databases have no cron jobs: tests drive ticks themselves.
package pgtest
