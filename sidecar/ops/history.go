package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Window is a span of history cut into equal steps, the last one ending at the
// current minute.
type Window struct {
	Name string // as in a URL: 1h, 1d
	Span time.Duration
	Step time.Duration
}

// Windows are the spans the dashboard offers, the first the default.
var Windows = []Window{
	{Name: "1h", Span: time.Hour, Step: time.Minute},
	{Name: "1d", Span: 24 * time.Hour, Step: 15 * time.Minute},
}

// WindowNamed returns the window called name, or the default.
func WindowNamed(name string) Window {
	for _, w := range Windows {
		if w.Name == name {
			return w
		}
	}
	return Windows[0]
}

// Steps returns the start of every step of w ending at now, oldest first.
func (w Window) Steps(now time.Time) []time.Time {
	end := now.UTC().Truncate(time.Minute).Add(time.Minute)
	n := int(w.Span / w.Step)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = end.Add(-time.Duration(n-i) * w.Step)
	}
	return out
}

// Start is when the first step of w ending at now begins.
func (w Window) Start(now time.Time) time.Time { return w.Steps(now)[0] }

// index returns the step that t falls in, or -1.
func (w Window) index(start, t time.Time) int {
	if t.Before(start) {
		return -1
	}
	i := int(t.Sub(start) / w.Step)
	if i >= int(w.Span/w.Step) {
		return -1
	}
	return i
}

// QueuePoint is what finished in one queue during one step.
type QueuePoint struct {
	Succeeded      int64
	Dead           int64
	Cancelled      int64
	Retried        int64 // needed more than one attempt
	FailedAttempts int64
	Latency        Histogram // due to provider request, of the succeeded ones
}

func (p *QueuePoint) add(o QueuePoint) {
	p.Succeeded += o.Succeeded
	p.Dead += o.Dead
	p.Cancelled += o.Cancelled
	p.Retried += o.Retried
	p.FailedAttempts += o.FailedAttempts
	p.Latency = p.Latency.Merge(o.Latency)
}

// QueueHistory is one queue over a window.
type QueueHistory struct {
	Queue  string
	Steps  []time.Time
	Points []QueuePoint // one per step
	Total  QueuePoint
	Upto   *time.Time // the rollup covers what finished before this; nil: it never ran
}

// QueueHistory reads every queue's finished work over w ending at now from the
// per-minute rollup, queues by name.
func (s *Store) QueueHistory(ctx context.Context, w Window, now time.Time) ([]QueueHistory, error) {
	bounds, err := s.latencyBounds(ctx)
	if err != nil {
		return nil, err
	}
	upto, err := s.rollupUpto(ctx, "messages")
	if err != nil {
		return nil, err
	}
	steps := w.Steps(now)
	rows, err := s.db.Query(ctx, queries.OpsMessageMinutes, steps[0])
	if err != nil {
		return nil, fmt.Errorf("error reading message history: %w", err)
	}
	byQueue := map[string]*QueueHistory{}
	var order []string
	var minute time.Time
	var queue string
	var p QueuePoint
	var counts []int64
	_, err = pgx.ForEachRow(rows, []any{&minute, &queue, &p.Succeeded, &p.Dead, &p.Cancelled, &p.Retried, &p.FailedAttempts, &counts}, func() error {
		h := byQueue[queue]
		if h == nil {
			h = &QueueHistory{Queue: queue, Steps: steps, Points: make([]QueuePoint, len(steps)), Upto: upto}
			byQueue[queue] = h
			order = append(order, queue)
		}
		if i := w.index(steps[0], minute); i >= 0 {
			p.Latency = Histogram{Bounds: bounds, Counts: counts}
			h.Points[i].add(p)
			h.Total.add(p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading message history: %w", err)
	}
	out := make([]QueueHistory, 0, len(order))
	for _, q := range sortedStrings(order) {
		out = append(out, *byQueue[q])
	}
	return out, nil
}

func (s *Store) latencyBounds(ctx context.Context) ([]float64, error) {
	var b []int64
	if err := s.db.QueryRow(ctx, queries.OpsLatencyBounds).Scan(&b); err != nil {
		return nil, fmt.Errorf("error reading the latency buckets: %w", err)
	}
	out := make([]float64, len(b))
	for i, v := range b {
		out[i] = float64(v)
	}
	return out, nil
}

// rollupUpto reads how far the rollup of source has come.
func (s *Store) rollupUpto(ctx context.Context, source string) (*time.Time, error) {
	var t *time.Time
	err := s.db.QueryRow(ctx, queries.OpsRollupUpto, source).Scan(&t)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error reading the rollup watermark: %w", err)
	}
	return t, nil
}

// RollUp folds newly finished work into the rollups the charts read
// (symphony.roll_up). It is cheap when there is nothing new, and returns at
// once when another caller is at it.
func (s *Store) RollUp(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, queries.RollUp).Scan(&n); err != nil {
		return 0, fmt.Errorf("error rolling up history: %w", err)
	}
	return n, nil
}
