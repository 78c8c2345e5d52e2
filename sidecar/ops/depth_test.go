package ops_test

import (
	"context"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/ops"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// The symphony.queue_stats view (the dashboard, `symphony status`) and
// sql/queue_depth.sql (/status, /metrics) give one answer: the view's live
// columns equal the depth reading, queue by queue, over due, scheduled,
// processing and dead messages in several queues.
func TestStore_QueueStatsDepthIsQueueDepth(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for range 4 {
		exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	}
	exec(t, db.Pool, `select symphony.send_sms('+14155550100', 'hi')`)
	exec(t, db.Pool, `update symphony.messages set available_at = now() - interval '2 minutes' where id = 1`)
	exec(t, db.Pool, `update symphony.messages set available_at = now() + interval '1 hour' where id = 2`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', finished_at = now(), last_error = 'x' where id = 3`)
	exec(t, db.Pool, `update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute' where id = 5`)

	depth, err := queue.ReadDepth(ctx, db.Pool, queue.PendingCap)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := ops.New(db.Pool).QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byQueue := map[string]queue.Depth{}
	for _, s := range stats {
		byQueue[s.Queue] = s.Depth
	}
	if len(depth) != 2 {
		t.Fatalf("depth %+v: want email and sms", depth)
	}
	if e := depth[0]; e.Queue != "email" || e.Pending != 2 || e.Scheduled != 1 || e.Dead != 1 || e.OldestPendingSeconds < 100 {
		t.Errorf("email depth %+v", e)
	}
	if s := depth[1]; s.Queue != "sms" || s.Processing != 1 || s.Pending != 0 {
		t.Errorf("sms depth %+v", s)
	}
	for _, d := range depth {
		v := byQueue[d.Queue]
		// The two read now() in separate statements: the oldest wait may differ by the gap.
		if v.OldestPendingSeconds < d.OldestPendingSeconds || v.OldestPendingSeconds > d.OldestPendingSeconds+60 {
			t.Errorf("%s oldest wait: view %v, depth %v", d.Queue, v.OldestPendingSeconds, d.OldestPendingSeconds)
		}
		v.OldestPendingSeconds, d.OldestPendingSeconds = 0, 0
		if v != d {
			t.Errorf("%s: view %+v, depth %+v", d.Queue, v, d)
		}
	}
}

// A backlog deeper than the cap reads as "at least": pending and scheduled
// count cap + 1 rows, pending_capped says so, and the oldest wait stays exact.
func TestReadDepth_CapsThePendingCount(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for range 5 {
		exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	}
	exec(t, db.Pool, `update symphony.messages set available_at = now() - interval '1 hour' where id = 5`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', finished_at = now(), last_error = 'x' where id = 1`)

	for _, c := range []struct {
		cap     int
		counted int64
		capped  bool
	}{{2, 3, true}, {4, 4, false}, {100, 4, false}} {
		depth, err := queue.ReadDepth(ctx, db.Pool, c.cap)
		if err != nil {
			t.Fatal(err)
		}
		if len(depth) != 1 {
			t.Fatalf("cap %d: depth %+v, want the email queue", c.cap, depth)
		}
		d := depth[0]
		if d.Pending+d.Scheduled != c.counted || d.PendingCapped != c.capped || d.Dead != 1 {
			t.Errorf("cap %d: %+v, want %d counted, capped %v, 1 dead", c.cap, d, c.counted, c.capped)
		}
		if d.OldestPendingSeconds < 3599 || d.OldestPendingSeconds > 3700 {
			t.Errorf("cap %d: oldest wait %v s, want the hour-old message's, however few are counted", c.cap, d.OldestPendingSeconds)
		}
	}
}
