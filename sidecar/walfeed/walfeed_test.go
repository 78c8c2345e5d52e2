package walfeed_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/walfeed"
)

func TestFeed_ReportsInsertedQueuesThroughATemporarySlot(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	seen := map[string]int{}
	connected := make(chan struct{}, 1)
	feed := walfeed.New(db.ConnString, slog.New(slog.DiscardHandler))
	feed.OnInsert = func(q string) { mu.Lock(); seen[q]++; mu.Unlock() }
	feed.OnConnect = func() { connected <- struct{}{} }
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("feed stopped: %v (the test cluster needs wal_level = logical; scripts/db.sh sets it)", err)
	case <-time.After(10 * time.Second):
		t.Fatal("feed did not connect")
	}

	var slots int
	_ = db.Pool.QueryRow(ctx, `select count(*) from pg_replication_slots where database = current_database() and temporary and active`).Scan(&slots)
	if slots != 1 {
		t.Fatalf("%d active temporary slots, want 1", slots)
	}
	db.Exec(t, `insert into symphony.messages (kind, payload) select 'email.send',
		'{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}' from generate_series(1, 30)`)
	db.Exec(t, `select symphony.send_sms('+14155550100', 'hi')`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		e, s := seen["email"], seen["sms"]
		mu.Unlock()
		if e == 30 && s == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw email %d, sms %d; want 30 and 1", e, s)
		}
		time.Sleep(10 * time.Millisecond)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A feed that is gone holds no WAL: its temporary slot went with it.
	deadline = time.Now().Add(5 * time.Second)
	for {
		_ = db.Pool.QueryRow(context.Background(), `select count(*) from pg_replication_slots where database = current_database()`).Scan(&slots)
		if slots == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d slots left after the feed stopped", slots)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFeed_UnavailableWithoutReplicationRights(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	db.Exec(t, `do $$ begin if not exists (select from pg_roles where rolname = 'walfeed_norepl') then
		create role walfeed_norepl login nosuperuser noreplication; end if; end $$`)
	u, err := url.Parse(db.ConnString)
	if err != nil {
		t.Fatalf("pgtest gave a connection string that is not a URL: %v", err)
	}
	u.User = url.User("walfeed_norepl")
	feed := walfeed.New(u.String(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = feed.Run(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run = %v; want an ErrUnavailable error before the timeout", err)
	}
	if !errors.Is(err, walfeed.ErrUnavailable) {
		t.Fatalf("Run = %v; want it to wrap ErrUnavailable", err)
	}
}
