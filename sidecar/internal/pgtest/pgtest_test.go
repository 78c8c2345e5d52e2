package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestNewDB_Isolated(t *testing.T) {
	t.Parallel()
	a, b := NewDB(t), NewDB(t)
	if a.Name == b.Name {
		t.Fatalf("both databases are named %s", a.Name)
	}
	a.Exec(t, "create table only_in_a (id int)")
	var found bool
	if err := b.Pool.QueryRow(t.Context(), "select to_regclass('only_in_a') is not null").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Fatal("a table created in one database is visible in the other")
	}
}

func TestNewDB_MigrationsApplied(t *testing.T) {
	t.Parallel()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	migrations, err := readMigrations(filepath.Join(root, "supabase", "migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) == 0 {
		t.Skip("supabase/migrations is empty")
	}
	db := NewDB(t)
	var exists bool
	if err := db.Pool.QueryRow(t.Context(), "select to_regnamespace('symphony') is not null").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		t.Fatal("schema symphony is missing from a new database")
	}
}

func TestNewDB_DroppedOnCleanup(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("UseDatabase", func(t *testing.T) {
		name = NewDB(t).Name
	})
	if n := countDatabases(t, name); n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

// A database whose test left a logical replication slot in use (a sidecar's
// WAL feed, still streaming) is dropped all the same.
func TestNewDB_DroppedWhileAReplicationSlotIsInUse(t *testing.T) {
	t.Parallel()
	var name string
	var repl *pgconn.PgConn
	t.Run("UseDatabase", func(t *testing.T) {
		db := NewDB(t)
		name = db.Name
		cfg, err := pgconn.ParseConfig(db.ConnString)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["replication"] = "database"
		if repl, err = pgconn.ConnectConfig(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := pglogrepl.CreateReplicationSlot(t.Context(), repl, "pgtest_slot", "pgoutput",
			pglogrepl.CreateReplicationSlotOptions{Temporary: true}); err != nil {
			t.Fatal(err)
		}
		// The connection stays open: the slot is in use when the test ends.
	})
	defer repl.Close(context.Background())
	if n := countDatabases(t, name); n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestTemplate_FollowsMigrationFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	template := tempTemplate(t)
	write := func(name, sql string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hasTable := func(db *DB, table string) bool {
		t.Helper()
		var ok bool
		if err := db.Pool.QueryRow(t.Context(), "select to_regclass($1) is not null", table).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// Files apply in name order: the second needs the first.
	write("002_b.sql", "create table b (a_id int references a);")
	write("001_a.sql", "create table a (id int primary key);\ncreate table a2 (id int);")
	db := newDB(t, template, dir)
	if !hasTable(db, "a") || !hasTable(db, "b") {
		t.Fatal("migrations were not applied")
	}

	t.Run("RebuiltWhenAFileChanges", func(t *testing.T) {
		write("001_a.sql", "create table a (id int primary key);")
		db := newDB(t, template, dir)
		if hasTable(db, "a2") {
			t.Fatal("the template still holds the old migration")
		}
	})

	t.Run("RebuiltWhenAFileIsAdded", func(t *testing.T) {
		write("003_c.sql", "create table c (id int);")
		if !hasTable(newDB(t, template, dir), "c") {
			t.Fatal("the new migration was not applied")
		}
	})
}

func TestTemplate_ErrorNamesFileAndLine(t *testing.T) {
	t.Parallel()
	cluster, err := clusterURL()
	if err != nil {
		t.Fatal(err)
	}
	template := tempTemplate(t)
	migrations := []migration{
		{name: "001_ok.sql", sql: "create table ok (id int);"},
		{name: "002_bad.sql", sql: "create table x (id int);\n\nselect * from missing_table;\n"},
	}
	err = ensureTemplate(context.Background(), cluster, template, migrations)
	if err == nil {
		t.Fatal("a broken migration applied without error")
	}
	for _, want := range []string{"002_bad.sql", "(line 3)", "missing_table"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// A failed build must not be mistaken for a good one by the next process.
	migrations[1].sql = "create table x (id int);"
	if err := ensureTemplate(context.Background(), cluster, template, migrations); err != nil {
		t.Fatalf("rebuilding after fixing the migration: %v", err)
	}
}

// tempTemplate names a template private to the test and drops it afterwards.
func tempTemplate(t *testing.T) string {
	t.Helper()
	name := "pgtest_template_" + randomHex(6)
	t.Cleanup(func() {
		cluster, err := clusterURL()
		if err != nil {
			return
		}
		if err := adminExec(context.Background(), cluster, `drop database if exists "`+name+`" with (force)`); err != nil {
			t.Errorf("dropping template %s: %v", name, err)
		}
	})
	return name
}

func countDatabases(t *testing.T, name string) int {
	t.Helper()
	cluster, err := clusterURL()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "select count(*) from pg_database where datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
