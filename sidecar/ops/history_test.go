package ops_test

import (
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// finish dispatches n emails and finishes them at `at` ago: state, attempts,
// and a wait of waitMS from due to the provider request.
func finish(t *testing.T, db *pgtest.DB, n int, state string, attempts int, at string, waitMS int) {
	t.Helper()
	exec(t, db.Pool, `insert into symphony.messages (kind, payload, meta)
		select 'email.send', '{"to": "a@example.com", "from": "me@example.com", "subject": "s", "text": "t"}', '{"batch": true}'
		  from generate_series(1, $1)`, n)
	exec(t, db.Pool, `update symphony.messages
		   set state = $1, attempts = $2, finished_at = now() - $3::interval, attempted_at = now() - $3::interval,
		       available_at = now() - $3::interval - $4 * interval '1 millisecond',
		       last_error = case when $1 = 'dead' then 'rejected' end,
		       result = case when $1 = 'succeeded' then jsonb_build_object('provider_message_id', 'p' || id) end,
		       meta = '{}'
		 where meta ? 'batch'`, state, attempts, at, waitMS)
}

func TestRollUp_CountsEachClosedMinuteOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	s := ops.New(db.Pool)
	finish(t, db, 30, "succeeded", 1, "10 minutes", 40)
	finish(t, db, 5, "succeeded", 3, "10 minutes", 3000)
	finish(t, db, 2, "dead", 5, "10 minutes", 100)
	finish(t, db, 7, "succeeded", 1, "0 seconds", 40) // the current minute: not yet
	if _, err := s.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RollUp(ctx); err != nil { // a second call adds nothing
		t.Fatal(err)
	}
	hist, err := s.QueueHistory(ctx, ops.WindowNamed("1h"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Queue != "email" {
		t.Fatalf("history %+v, want the email queue", hist)
	}
	got := hist[0].Total
	if got.Succeeded != 35 || got.Dead != 2 || got.Retried != 7 || got.FailedAttempts != 5*2+2*5 {
		t.Errorf("total %+v: want 35 succeeded, 2 dead, 7 retried, 20 failed attempts", got)
	}
	if p50, _ := got.Latency.Quantile(0.5); p50 < 25 || p50 > 50 {
		t.Errorf("p50 %.0f ms, want in the 25-50 ms bucket", p50)
	}
	if p95, _ := got.Latency.Quantile(0.95); p95 < 2500 || p95 > 5000 {
		t.Errorf("p95 %.0f ms, want in the 2.5-5 s bucket", p95)
	}
	if hist[0].Upto == nil || time.Since(*hist[0].Upto) > 2*time.Minute {
		t.Errorf("watermark %v, want within the last two minutes", hist[0].Upto)
	}
	// Rolling up minutes again only adds what finished in them: nothing here.
	exec(t, db.Pool, `update symphony.rollup_watermarks set upto = upto - interval '3 minutes' where name = 'messages'`)
	if _, err := s.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	hist, _ = s.QueueHistory(ctx, ops.WindowNamed("1h"), time.Now())
	if hist[0].Total.Succeeded != 35 {
		t.Errorf("after re-reading empty minutes: %d succeeded, want still 35", hist[0].Total.Succeeded)
	}
	// Rollups older than keep are dropped.
	var n int
	if err := db.Pool.QueryRow(ctx, `select symphony.roll_up(keep => interval '5 minutes')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `select count(*) from symphony.message_minutes`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rollup rows older than keep remain (%v)", n, err)
	}
}

func TestStore_CollectMetricsRollsUpAndSetsDeliveryRatios(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	finish(t, db, 200, "succeeded", 1, "5 minutes", 20)
	exec(t, db.Pool, `insert into symphony.delivery_events (message_id, provider, event_key, status, occurred_at, received_at)
		select id, 'resend', 'e' || id,
		       case when id <= 4 then 'bounced' when id = 5 then 'complained' when id <= 195 then 'delivered' else 'delayed' end,
		       now() - interval '4 minutes', now() - interval '4 minutes'
		  from symphony.messages`)
	m := metrics.New()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ops.New(db.Pool).CollectMetrics(cctx, 20*time.Millisecond, m, []string{"email"}, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	ratio := func(status string) float64 { return value(m.DeliveryRatio.WithLabelValues("email", status)) }
	deadline := time.Now().Add(10 * time.Second)
	for ratio("delivered") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for status, want := range map[string]float64{"delivered": 190.0 / 200, "bounced": 4.0 / 200, "complained": 1.0 / 190} {
		if got := ratio(status); math.Abs(got-want) > 1e-9 {
			t.Errorf("symphony_delivery_ratio{channel=email,status=%s} = %v, want %v", status, got, want)
		}
	}
}

func TestHistogram_Quantile(t *testing.T) {
	h := ops.Histogram{Bounds: []float64{10, 100, 1000}, Counts: []int64{0, 10, 0, 0}}
	if q, ok := h.Quantile(0.5); !ok || q != 55 {
		t.Errorf("median of 10 values in 10-100 ms: %v, want 55 (interpolated)", q)
	}
	h = h.Merge(ops.Histogram{Bounds: h.Bounds, Counts: []int64{0, 0, 0, 10}})
	if q, _ := h.Quantile(0.95); q != 1000 {
		t.Errorf("p95 in the open last bucket: %v, want its lower bound 1000", q)
	}
	if _, ok := (ops.Histogram{}).Quantile(0.5); ok {
		t.Error("an empty histogram has a median")
	}
}
