package ops_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/ops"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// value reads a gauge.
func value(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		panic(err)
	}
	return m.GetGauge().GetValue()
}

// The collector's gauges follow the database: depth by state, the oldest due
// message's age, served queues at 0, and a queue that empties drops to 0.
func TestStore_CollectMetricsRefreshesQueueGauges(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for range 3 {
		exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	}
	exec(t, db.Pool, `update symphony.messages set available_at = now() - interval '2 minutes' where id = 1`)
	exec(t, db.Pool, `update symphony.messages set available_at = now() + interval '1 hour' where id = 2`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', finished_at = now(), last_error = 'x' where id = 3`)
	exec(t, db.Pool, `select symphony.send_sms('+14155550100', 'hi')`)
	exec(t, db.Pool, `update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute' where id = 4`)

	m := metrics.New()
	s := ops.New(db.Pool)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.CollectMetrics(cctx, 20*time.Millisecond, m, []string{"email", "sms", "drip"}, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()

	gauge := func(q, state string) float64 { return value(m.QueueDepth.WithLabelValues(q, state)) }
	deadline := time.Now().Add(5 * time.Second)
	for value(m.QueueStatsAge) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	checks := []struct {
		q, state string
		want     float64
	}{{"email", "pending", 1}, {"email", "scheduled", 1}, {"email", "dead", 1}, {"sms", "processing", 1}, {"drip", "pending", 0}}
	for _, c := range checks {
		if got := gauge(c.q, c.state); got != c.want {
			t.Errorf("symphony_queue_messages{queue=%q,state=%q} = %v, want %v", c.q, c.state, got, c.want)
		}
	}
	if age := value(m.QueueOldest.WithLabelValues("email")); age < 119 || age > 600 {
		t.Errorf("oldest pending age of email = %v s, want about 120", age)
	}
	if c := value(m.QueuePendingCapped.WithLabelValues("email")); c != 0 {
		t.Errorf("symphony_queue_pending_capped{queue=\"email\"} = %v with 2 pending, want 0", c)
	}

	exec(t, db.Pool, `delete from symphony.messages where queue = 'sms'`)
	deadline = time.Now().Add(5 * time.Second)
	for gauge("sms", "processing") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sms gauge did not drop to 0 after its messages went")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A backlog deeper than queue.PendingCap: the gauges say "at least" (the cap
// plus one counted, symphony_queue_pending_capped 1), and the read costs what
// the cap's does however deep the queue.
func TestStore_CollectMetricsCapsADeepBacklog(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
	  select 'email.send', jsonb_build_object('to', 'u' || g || '@example.com', 'from', 'me@example.com', 'subject', 'hi', 'text', 'x')
	    from generate_series(1, $1::int + 50) g`, queue.PendingCap)

	m := metrics.New()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ops.New(db.Pool).CollectMetrics(cctx, time.Hour, m, []string{"email"}, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for value(m.QueueStatsAge) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := value(m.QueueDepth.WithLabelValues("email", "pending")); got != queue.PendingCap+1 {
		t.Errorf("pending gauge %v, want the cap plus one (%d)", got, queue.PendingCap+1)
	}
	if got := value(m.QueuePendingCapped.WithLabelValues("email")); got != 1 {
		t.Errorf("symphony_queue_pending_capped = %v over a backlog of %d, want 1", got, queue.PendingCap+50)
	}
}

// Retry and remove act on dead messages only, whatever ids they are given.
func TestStore_RetryAndRemoveTouchDeadOnly(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for range 4 {
		exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	}
	exec(t, db.Pool, `update symphony.messages set state = 'dead', finished_at = now(), last_error = 'boom' where id in (1, 2)`)
	exec(t, db.Pool, `select symphony.cancel(3, 'no')`)
	s := ops.New(db.Pool)

	res, err := s.RetryDead(ctx, []int64{1, 3, 4, 99}, "ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id    int64
		state string
		done  bool
	}{{1, "dead", true}, {3, "cancelled", false}, {4, "pending", false}, {99, "", false}}
	for i, w := range want {
		st := ""
		if res[i].State != nil {
			st = *res[i].State
		}
		if res[i].ID != w.id || st != w.state || res[i].Done != w.done {
			t.Errorf("retry result %d = {%d %q %v}, want %+v", i, res[i].ID, st, res[i].Done, w)
		}
	}

	res, err = s.RemoveDead(ctx, []int64{1, 2, 3, 4}, "")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Done || !res[1].Done || res[2].Done || res[3].Done {
		t.Fatalf("remove results %+v: only message 2 (dead) may go", res)
	}
	var n int
	_ = db.Pool.QueryRow(ctx, `select count(*) from symphony.messages`).Scan(&n)
	if n != 3 {
		t.Fatalf("%d messages left, want 3 (only the dead one removed)", n)
	}
	var actors []string
	_ = db.Pool.QueryRow(ctx, `select array_agg(action || ':' || actor order by id) from symphony.message_actions where action <> 'cancel'`).Scan(&actors)
	if strings.Join(actors, " ") != "retry:ops@example.com remove:"+sessionUser(t, db) {
		t.Fatalf("message_actions %v: the retry names its actor, the removal (no actor) the database user", actors)
	}
}

func sessionUser(t *testing.T, db *pgtest.DB) string {
	t.Helper()
	var u string
	if err := db.Pool.QueryRow(context.Background(), `select session_user::text`).Scan(&u); err != nil {
		t.Fatal(err)
	}
	return u
}
