package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClusterName is the scripts/db.sh cluster the suite owns.
const ClusterName = "chaos"

// Lock serialises chaos runs across processes (two `go test` runs, or
// scripts/chaos.sh beside a CI run) until tb ends: a run restarts the cluster,
// which would break another run's sidecars and checks.
func Lock(tb testing.TB) {
	tb.Helper()
	path := filepath.Join(os.TempDir(), "symphony-chaos-run.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		tb.Fatalf("chaos: error opening lock %s: %v", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		tb.Logf("chaos: waiting for another chaos run to finish (%s)", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			tb.Fatalf("chaos: error locking %s: %v", path, err)
		}
	}
	tb.Cleanup(func() { _ = f.Close() }) // closing releases the lock
}

// RepoRoot is the directory holding go.mod, found upwards from the working
// directory (a package directory under go test).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("chaos: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Cluster drives the chaos cluster through scripts/db.sh.
type Cluster struct {
	root string
}

// NewCluster returns the chaos cluster of the repository at root.
func NewCluster(root string) *Cluster { return &Cluster{root: root} }

func (c *Cluster) db(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", append([]string{filepath.Join(c.root, "scripts", "db.sh")}, args...)...)
	cmd.Dir = c.root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("error running db.sh %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Start starts the cluster (initialising it on first use).
func (c *Cluster) Start() error {
	_, err := c.db("start", ClusterName)
	return err
}

// Stop stops the cluster: mode "fast" is a clean shutdown, "immediate" a crash
// (no checkpoint; the next start replays the WAL).
func (c *Cluster) Stop(mode string) error {
	_, err := c.db("stop", ClusterName, mode)
	return err
}

// URL is the connection URL of database name.
func (c *Cluster) URL(name string) (string, error) { return c.db("url", ClusterName, name) }

// NewDatabase creates a database with every migration applied by psql, file by
// file as the migration guide's Phase 1 does, and the master flag on. It is
// dropped when tb ends. Databases left by earlier runs that died are dropped
// first (the caller holds Lock, so none is in use).
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	if err := c.Start(); err != nil {
		tb.Fatal(err)
	}
	admin, err := c.URL("postgres")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stale, err := queryStrings(ctx, admin, `select datname from pg_database where datname like 'chaos\_%'`)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "chaos_" + hex.EncodeToString(b)
	stmts := []string{"create database " + name}
	for _, s := range stale {
		stmts = append([]string{"drop database if exists " + pgx.Identifier{s}.Sanitize() + " with (force)"}, stmts...)
	}
	if err := execAll(ctx, admin, stmts...); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// A failed run may have left the cluster stopped.
		if err := c.Start(); err != nil {
			tb.Errorf("chaos: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := execAll(ctx, admin, "drop database if exists "+name+" with (force)"); err != nil {
			tb.Errorf("chaos: error dropping %s: %v", name, err)
		}
	})
	url, err := c.URL(name)
	if err != nil {
		tb.Fatal(err)
	}
	if err := applyMigrations(ctx, c.root, url); err != nil {
		tb.Fatal(err)
	}
	if err := execAll(ctx, url, `update symphony.flags set enabled = true where name = 'symphony'`); err != nil {
		tb.Fatal(err)
	}
	return url
}

func applyMigrations(ctx context.Context, root, url string) error {
	psql, err := exec.LookPath("psql")
	if err != nil {
		psql = "/usr/lib/postgresql/15/bin/psql"
	}
	files, err := filepath.Glob(filepath.Join(root, "supabase", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("chaos: no migrations found (%v)", err)
	}
	sort.Strings(files)
	for _, f := range files {
		cmd := exec.CommandContext(ctx, psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", f)
		// Notices such as "pg_cron cannot be used in this database" are expected.
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c client_min_messages=warning")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chaos: psql -f %s: %w\n%s", filepath.Base(f), err, out)
		}
	}
	return nil
}

func execAll(ctx context.Context, url string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func queryStrings(ctx context.Context, url, sql string) ([]string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s", sql), err)
	}
	return out, nil
}
