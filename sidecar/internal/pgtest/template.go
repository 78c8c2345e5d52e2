package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TemplateName is the database every NewDB database is cloned from.
const TemplateName = "symphony_template"

// buildVersion is part of the template's hash: change it when the way the template is built
// changes, so existing templates are rebuilt.
const buildVersion = "pgtest/1"

// migration is one file of supabase/migrations.
type migration struct {
	name string // file name, which orders the migrations
	sql  string
}

// readMigrations returns the *.sql files in dir, sorted by name. A missing directory holds
// no migrations.
func readMigrations(dir string) ([]migration, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	migrations := make([]migration, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("error reading migration: %w", err)
		}
		migrations = append(migrations, migration{name: filepath.Base(p), sql: string(b)})
	}
	return migrations, nil
}

// hashMigrations identifies a set of migrations, names included, so renaming or reordering
// files also rebuilds the template.
func hashMigrations(migrations []migration) string {
	h := sha256.New()
	h.Write([]byte(buildVersion))
	for _, m := range migrations {
		fmt.Fprintf(h, "\x00%s\x00%d\x00%s", m.name, len(m.sql), m.sql)
	}
	return buildVersion + " sha256:" + hex.EncodeToString(h.Sum(nil))
}

// templates remembers, per cluster, template and hash, that this process has already made sure
// the template is current, so only the first NewDB pays for the check.
var templates sync.Map // key string -> func() error (a sync.OnceValue)

func ensureTemplateOnce(ctx context.Context, clusterURL, template string, migrations []migration) error {
	key := clusterURL + "\x00" + template + "\x00" + hashMigrations(migrations)
	once, _ := templates.LoadOrStore(key, sync.OnceValue(func() error {
		return ensureTemplate(ctx, clusterURL, template, migrations)
	}))
	return once.(func() error)()
}

// ensureTemplate (re)builds database template from migrations unless it already holds exactly
// these migrations.
func ensureTemplate(ctx context.Context, clusterURL, template string, migrations []migration) error {
	want := hashMigrations(migrations)

	admin, err := pgx.Connect(ctx, clusterURL)
	if err != nil {
		return fmt.Errorf("error connecting to the test cluster: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))

	// One builder at a time across test processes; the lock ends with the session.
	if _, err := admin.Exec(ctx, "select pg_advisory_lock(hashtextextended($1, 0))", "pgtest:"+template); err != nil {
		return fmt.Errorf("error locking template %s: %w", template, err)
	}

	var have *string
	err = admin.QueryRow(ctx,
		"select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
		template).Scan(&have)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("error reading template %s: %w", template, err)
	}
	if have != nil && *have == want {
		return nil
	}

	ident := pgx.Identifier{template}.Sanitize()
	for _, stmt := range []string{
		"drop database if exists " + ident + " with (force)",
		// template0, not template1: nothing a developer added to template1 leaks into tests.
		"create database " + ident + " template template0",
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("error recreating template %s: %w", template, err)
		}
	}
	if err := applyMigrations(ctx, clusterURL, template, migrations); err != nil {
		return err
	}
	// Nobody may connect to the template (a stray session would make every clone fail), and
	// the hash is recorded last, so a half-built template is never taken for a good one.
	for _, stmt := range []string{
		"alter database " + ident + " with allow_connections false",
		"comment on database " + ident + " is " + quoteLiteral(want),
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("error finishing template %s: %w", template, err)
		}
	}
	return nil
}

func applyMigrations(ctx context.Context, clusterURL, database string, migrations []migration) error {
	connString, err := withDatabase(clusterURL, database)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return fmt.Errorf("error connecting to template %s: %w", database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, m := range migrations {
		// Without arguments pgx uses the simple protocol, which runs a whole file at once.
		if _, err := conn.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("error applying migration %s%s: %w%s", m.name, errorLine(m.sql, err), err, errorDetail(err))
		}
	}
	return nil
}

// errorLine turns the character position PostgreSQL reports into a line number, which is what
// the author of a migration needs.
func errorLine(sql string, err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Position <= 0 {
		return ""
	}
	line, pos := 1, int32(0)
	for _, r := range sql {
		pos++
		if pos >= pgErr.Position {
			break
		}
		if r == '\n' {
			line++
		}
	}
	return fmt.Sprintf(" (line %d)", line)
}

// errorDetail adds what PgError.Error leaves out; Where locates errors inside functions and DO
// blocks, which have no position.
func errorDetail(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	var b strings.Builder
	for _, f := range []struct{ label, value string }{
		{"detail", pgErr.Detail}, {"hint", pgErr.Hint}, {"where", pgErr.Where},
	} {
		if f.value != "" {
			fmt.Fprintf(&b, "\n\t%s: %s", f.label, f.value)
		}
	}
	return b.String()
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
