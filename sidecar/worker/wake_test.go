package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

type counting struct{ n atomic.Int32 }

func (c *counting) Handle(context.Context, *msgtype.Message) (json.RawMessage, error) {
	c.n.Add(1)
	return json.RawMessage(`{}`), nil
}

// A wake-up can come a moment before the row it reports is visible: the WAL
// feed decodes an insert from its commit record before the inserting
// transaction has finished committing. The claim it triggers then finds
// nothing, and with the fallback poll an hour away the message would wait for
// the next wake-up. The queue looks once more shortly after such a wake-up.
func TestWorker_WakeThatFindsNothingLooksAgain(t *testing.T) {
	t.Parallel()
	pool := prefetchSetup(t, 0)
	ctx := context.Background()
	h := &counting{}
	w := runOneSlot(t, pool, "w-wake", h, metrics.New())
	// Idle: the queue sleeps, registered as listening, until woken.
	waitUntil(t, "the queue sleeps", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `select count(*) from symphony.listeners where queue = 'email'`).Scan(&n)
		return n == 1
	})

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	for _, q := range []string{
		`set local symphony.notify_inserts = 'off'`, // this test's wake-up is the only one
		`insert into symphony.messages (kind, payload) values ('email.send',
		   '{"to":"a@example.com","from":"me@example.com","subject":"hi","text":"hello"}')`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	w.Wake("email") // the claim it causes runs before the commit below
	time.Sleep(3 * time.Millisecond)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the message committed just after a wake-up was not sent within 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A dispatch decides whether to NOTIFY when it inserts. One that inserted
// while no sidecar listened, and commits just after the queue started to
// listen and took its first look, is found by a second look shortly after,
// not by the fallback poll (an hour away here).
func TestWorker_LooksAgainShortlyAfterStartingToListen(t *testing.T) {
	t.Parallel()
	pool := prefetchSetup(t, 0)
	ctx := context.Background()
	// Inserted while nobody listens: this transaction will send no NOTIFY.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `insert into symphony.messages (kind, payload) values ('email.send',
		'{"to":"a@example.com","from":"me@example.com","subject":"hi","text":"hello"}')`); err != nil {
		t.Fatal(err)
	}
	h := &counting{}
	runOneSlot(t, pool, "w-listen", h, metrics.New())
	// Commit as soon as the queue listens (its first look has found nothing:
	// the row was not committed yet).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		_ = pool.QueryRow(ctx, `select count(*) from symphony.listeners where queue = 'email'`).Scan(&n)
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the queue never started to listen")
		}
		time.Sleep(time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for h.n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a message committed just after the queue started to listen was not sent within 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runOneSlot runs worker id with one slot on queue email, claims of 10 and
// the fallback poll an hour away (so that only what a test does wakes it),
// until the test ends.
func runOneSlot(t *testing.T, pool *pgxpool.Pool, id string, h msgtype.Handler, m *metrics.Metrics) *worker.Worker {
	t.Helper()
	w := worker.New(queue.NewStore(pool, id), msgtype.Handlers{"email.send": h}, worker.Config{
		Queues: map[string]int{"email": 1}, ClaimBatch: 10,
		Lease: 10 * time.Second, PollInterval: time.Hour, HandlerTimeout: 5 * time.Second,
		ShutdownTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}
