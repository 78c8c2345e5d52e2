package schedule_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/schedule"
)

func TestRunner_FiresADueScheduleOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `insert into symphony.schedules (name, kind, payload, every)
		values ('digest', 'email.send', '{"to": "a@example.com", "from": "b@example.com", "subject": "d", "text": "t"}', '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update symphony.schedules set next_run_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	r := schedule.New(db.Pool, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	first, err := r.Fire(ctx)
	if err != nil || first != 1 {
		t.Fatalf("first Fire = %d, %v; want 1", first, err)
	}
	// Run keeps firing on its timer; the schedule is not due for an hour.
	rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	r.Run(rctx)
	var msgs int
	var next time.Time
	if err := db.Pool.QueryRow(ctx, `select (select count(*) from symphony.messages), next_run_at from symphony.schedules`).Scan(&msgs, &next); err != nil {
		t.Fatal(err)
	}
	// every '1 hour' is aligned to whole hours: next is the coming one.
	if msgs != 1 || time.Until(next) <= 0 || time.Until(next) > time.Hour || next.Minute() != 0 || next.Second() != 0 {
		t.Fatalf("%d messages, next run at %s; want 1 and the next whole hour", msgs, next)
	}
}
