// Package supabasecheck holds the tests that hold Symphony to a Supabase project as it
// really is, not as a superuser's test cluster is: the supabase cluster of scripts/db.sh
// (bootstrap superuser supabase_admin, postgres an ordinary role, pg_cron installed by the
// admin, the API roles' default privileges on public), with the migrations applied by
// `supabase db push` as postgres.
//
// The tests run docs/supabase.md as written: every sql block in order, every supabase-js
// rpc call the way PostgREST makes it. They then run checks modelled on the lints behind
// Studio's Security and Performance Advisors (splinter) over every object that is not the
// platform's, each check first shown to find a deliberately bad object.
package supabasecheck
