package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// A dashboard page reads in one read-only transaction with JIT off, and
// leaves the connection's settings as they were.
func TestStore_ReadIsReadOnlyWithoutJIT(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', attempts = 1, finished_at = now(), last_error = 'x' where id = 1`)
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "set jit = on"); err != nil {
		t.Fatal(err)
	}
	setting := func(name string) string {
		t.Helper()
		var v string
		if err := conn.QueryRow(ctx, "select current_setting($1)", name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	err = ops.New(conn).Read(ctx, func(o *ops.Store) error {
		if jit, ro := setting("jit"), setting("transaction_read_only"); jit != "off" || ro != "on" {
			t.Errorf("within Read: jit %s, transaction_read_only %s; want off, on", jit, ro)
		}
		ov, err := o.Overview(ctx, 10)
		if err != nil {
			return err
		}
		if len(ov.Failures) != 1 || ov.Failures[0].ID != 1 {
			t.Errorf("the overview within Read lists failures %+v, want message 1", ov.Failures)
		}
		_, err = o.RetryDead(ctx, []int64{1}, "test")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Errorf("a retry within Read: %v, want it refused as a write in a read-only transaction", err)
	}
	if jit, ro := setting("jit"), setting("transaction_read_only"); jit != "on" || ro != "off" {
		t.Errorf("after Read: jit %s, transaction_read_only %s; want them back (on, off)", jit, ro)
	}
	var state string
	if err := conn.QueryRow(ctx, `select state from symphony.messages where id = 1`).Scan(&state); err != nil || state != "dead" {
		t.Errorf("message 1 is %q (%v) after a refused retry, want dead", state, err)
	}
}
