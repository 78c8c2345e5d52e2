package listener_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/listener"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

type note struct{ channel, payload string }

// The listener hears both channels as the schema's triggers use them:
// messages on symphony (a queue's name), configuration on symphony_config
// (here 'limits', from the trigger on symphony.queues); when its connection
// is killed it reconnects, says so through OnConnect (notifications sent
// meanwhile are gone), and hears again. scripts/test.sh runs it under the
// race detector, with the callbacks called from the listener's goroutine.
func TestListener_HearsBothChannelsAndReconnects(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	l := listener.New(db.ConnString, slog.New(slog.DiscardHandler), metrics.New())
	l.MaxBackoff = 200 * time.Millisecond
	connects := make(chan struct{}, 4)
	notes := make(chan note, 16)
	l.OnConnect = func() { connects <- struct{}{} }
	l.OnNotify = func(channel, payload string) { notes <- note{channel, payload} }
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10 s", what)
		}
	}
	hear := func(want note) {
		t.Helper()
		select {
		case got := <-notes:
			if got != want {
				t.Fatalf("heard %+v, want %+v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("did not hear %+v within 10 s", want)
		}
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	wait("connect", connects)
	if !l.Connected() {
		t.Fatal("Connected() is false after OnConnect")
	}
	exec(`select pg_notify('symphony', 'email')`)
	hear(note{listener.ChannelMessages, "email"})
	exec(`update symphony.queues set name = name where false`) // the statement trigger fires anyway
	hear(note{listener.ChannelConfig, "limits"})

	exec(`select pg_terminate_backend(pid) from pg_stat_activity
		where datname = current_database() and pid <> pg_backend_pid() and (query ilike 'listen %' or query = '-- ping')`)
	wait("reconnect", connects)
	exec(`select pg_notify('symphony', 'sms')`)
	hear(note{listener.ChannelMessages, "sms"})
}
