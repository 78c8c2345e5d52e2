package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
		if err := dropDatabase(ctx, cluster, name); err != nil {
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

// dropDatabase drops database name, whatever is still connected to it. FORCE
// ends ordinary sessions but not a replication slot in use: a sidecar's WAL feed
// holds a temporary slot, which the server drops only once the feed's
// walsender has exited, a moment after the test closed the connection. Such
// walsenders are ended too, and the drop is retried until their slots are gone.
func dropDatabase(ctx context.Context, cluster, name string) error {
	drop := "drop database if exists " + pgx.Identifier{name}.Sanitize() + " with (force)"
	for {
		err := adminExec(ctx, cluster, drop)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" {
			return err
		}
		conn, cerr := pgx.Connect(ctx, cluster)
		if cerr != nil {
			return errors.Join(err, cerr)
		}
		_, _ = conn.Exec(ctx, `select pg_terminate_backend(active_pid) from pg_replication_slots
			where database = $1 and active_pid is not null`, name)
		_ = conn.Close(ctx)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
