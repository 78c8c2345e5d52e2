package app_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

// With SYMPHONY_WAKEUP=wal and NOTIFY on insert turned off, the WAL feed alone
// wakes an idle sidecar (the fallback poll is an hour away).
func TestMain_WALFeedWakesWithoutNotify(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `alter database `+quoteIdent(db.Name)+` set symphony.notify_inserts = 'off'`)
	cfg := testConfig(db)
	cfg.Wakeup = "wal"
	cfg.PollInterval = time.Hour
	fake := newFake(nil)
	sc := start(t, cfg, fake, fake)
	// Creating a slot waits for transactions already running anywhere in the
	// cluster to end, so the feed may take a moment to start streaming.
	waitFor(t, 20*time.Second, "the WAL feed to stream", func() bool {
		_, body := sc.get(t, "/metrics")
		return strings.Contains(body, "symphony_wal_feed_connected 1")
	})

	// A fresh connection picks up the database default: no NOTIFY is sent.
	db.Pool.Reset()
	conn, err := db.Pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var setting string
	_ = conn.QueryRow(context.Background(), `select current_setting('symphony.notify_inserts', true)`).Scan(&setting)
	conn.Release()
	if setting != "off" {
		t.Fatalf("symphony.notify_inserts = %q in a new session", setting)
	}

	var lat []time.Duration
	for range 20 {
		before := fake.total.Load()
		t0 := time.Now()
		exec(t, db.Pool, `INSERT INTO symphony.messages (kind, payload) VALUES ('email.send', $1)`, emailPayload)
		waitFor(t, 3*time.Second, "the WAL feed to wake the sidecar", func() bool { return fake.total.Load() > before })
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("wake latency through the WAL feed over 20 dispatches: p50 %s, max %s", lat[10], lat[19])
}

func quoteIdent(s string) string { return `"` + s + `"` }
