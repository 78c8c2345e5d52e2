// Package queries holds every SQL statement the sidecar runs, one .sql file per
// statement, embedded at build time (the claims and the suppression checks
// share parts: a line "-- NAME.sql here" stands for that file's text; see
// queries.go). Keeping them here (and not as strings in Go)
// gives one place to read and review the runtime SQL; the queue package's tests
// prepare each statement against the migrated schema, so a query that no longer
// matches supabase/migrations fails the build's tests.
package queries
