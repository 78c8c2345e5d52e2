package pgtest

import "sync"

// EnvSupabaseDatabaseURL names the variable holding the URL of the Supabase-shaped cluster
// (database postgres, as the non-superuser postgres), with the migrations applied.
const EnvSupabaseDatabaseURL = "SYMPHONY_SUPABASE_DATABASE_URL"

// SupabaseURL returns the URL of the Supabase-shaped cluster of scripts/db.sh (bootstrap
// superuser supabase_admin, postgres an ordinary role), connecting as postgres. When
// SYMPHONY_SUPABASE_DATABASE_URL is unset it starts the cluster and applies the migrations
// with `scripts/db.sh push supabase` (the Supabase CLI, as postgres), once per process.
func SupabaseURL() (string, error) { return supabaseURL() }

var supabaseURL = sync.OnceValues(scriptCluster(EnvSupabaseDatabaseURL, "push", "supabase"))
