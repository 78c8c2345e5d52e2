package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// EnvSupabaseDatabaseURL names the variable holding the URL of the Supabase-shaped cluster
// (database postgres, as the non-superuser postgres), with the migrations applied.
const EnvSupabaseDatabaseURL = "SYMPHONY_SUPABASE_DATABASE_URL"

// SupabaseURL returns the URL of the Supabase-shaped cluster of scripts/db.sh (bootstrap
// superuser supabase_admin, postgres an ordinary role), connecting as postgres. When
// SYMPHONY_SUPABASE_DATABASE_URL is unset it starts the cluster and applies the migrations
// with `scripts/db.sh push supabase` (the Supabase CLI, as postgres), once per process.
func SupabaseURL() (string, error) { return supabaseURL() }

var supabaseURL = sync.OnceValues(func() (string, error) {
	if u := os.Getenv(EnvSupabaseDatabaseURL); u != "" {
		return u, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dbsh := filepath.Join(root, "scripts", "db.sh")
	if _, err := runScript(root, dbsh, "push", "supabase"); err != nil {
		return "", fmt.Errorf("%s is unset and preparing the supabase cluster failed: %w", EnvSupabaseDatabaseURL, err)
	}
	out, err := runScript(root, dbsh, "url", "supabase")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
})
