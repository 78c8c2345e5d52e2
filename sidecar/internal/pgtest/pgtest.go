package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// setupTimeout bounds creating a database, including waiting for another process that is
// building the template.
const setupTimeout = 2 * time.Minute

// DB is a private database for one test, dropped when the test ends.
type DB struct {
	// Name is the database's name, unique across test processes.
	Name string
	// ConnString connects to this database as a superuser, for code under test that opens its
	// own connections (a LISTEN connection, the sidecar's pool).
	ConnString string
	// Pool is open on the database and closed when the test ends.
	Pool *pgxpool.Pool
}

// NewDB creates a database with every migration in supabase/migrations applied, and drops it
// (and closes Pool) in tb.Cleanup. It fails the test if the cluster cannot be reached or a
// migration does not apply.
func NewDB(tb testing.TB) *DB {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return newDB(tb, TemplateName, filepath.Join(root, "supabase", "migrations"))
}

// newDB clones a database from template, first making sure the template holds the migrations
// in dir.
func newDB(tb testing.TB, template, dir string) *DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	cluster, err := clusterURL()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	migrations, err := readMigrations(dir)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := ensureTemplateOnce(ctx, cluster, template, migrations); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}

	name := "symphony_test_" + randomHex(8)
	ident := pgx.Identifier{name}.Sanitize()
	if err := adminExec(ctx, cluster, "create database "+ident+" template "+pgx.Identifier{template}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: error creating database %s: %v", name, err)
	}
	db := &DB{Name: name}
	tb.Cleanup(func() {
		if db.Pool != nil {
			db.Pool.Close()
		}
		// FORCE: code under test may have left connections open; they must not keep the
		// database alive.
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := adminExec(ctx, cluster, "drop database if exists "+ident+" with (force)"); err != nil {
			tb.Errorf("pgtest: error dropping database %s: %v", name, err)
		}
	})

	if db.ConnString, err = withDatabase(cluster, name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if db.Pool, err = pgxpool.New(ctx, db.ConnString); err != nil {
		tb.Fatalf("pgtest: error opening pool on %s: %v", name, err)
	}
	if err := db.Pool.Ping(ctx); err != nil {
		tb.Fatalf("pgtest: error connecting to %s: %v", name, err)
	}
	return db
}

// Exec runs sql on the database, failing the test on error. It is for setting up and
// inspecting state; code under test should get its own errors.
func (db *DB) Exec(tb testing.TB, sql string, args ...any) pgconn.CommandTag {
	tb.Helper()
	tag, err := db.Pool.Exec(tb.Context(), sql, args...)
	if err != nil {
		tb.Fatalf("pgtest: error running %q: %v", sql, err)
	}
	return tag
}

// adminExec runs one statement on the cluster's postgres database. It uses a fresh
// connection rather than a shared pool: CREATE and DROP DATABASE are cheap next to the
// goroutines a long-lived pool would leave behind for leak checkers to find.
func adminExec(ctx context.Context, cluster, sql string) error {
	conn, err := pgx.Connect(ctx, cluster)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
