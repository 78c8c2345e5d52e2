package ops

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// BridgePoint is what one system finished of one bridge during one step.
type BridgePoint struct {
	Finished   int64
	Succeeded  int64
	Failed     int64
	HandedBack int64     // finished by legacy after a rollback handed them back
	Latency    Histogram // insert to finish
}

func (p *BridgePoint) add(o BridgePoint) {
	p.Finished += o.Finished
	p.Succeeded += o.Succeeded
	p.Failed += o.Failed
	p.HandedBack += o.HandedBack
	p.Latency = p.Latency.Merge(o.Latency)
}

// SuccessRate is the share of finished rows that succeeded, in percent; ok is
// false when none finished.
func (p BridgePoint) SuccessRate() (pct float64, ok bool) {
	if p.Finished == 0 {
		return 0, false
	}
	return 100 * float64(p.Succeeded) / float64(p.Finished), true
}

// FlagEvent is one row of symphony.flag_changes: who changed a flag, when, from what to what.
type FlagEvent struct {
	Flag       string
	At         time.Time
	By         string
	OldEnabled *bool
	NewEnabled *bool
	OldPercent *int
	NewPercent *int
}

// RolloutStep is the share of subjects a flag routed to Symphony from At on.
type RolloutStep struct {
	At      time.Time
	Percent int // 0 while the flag or the master switch is off
}

// BridgeHistory is one bridged workload over a window: both systems side by
// side, and the flag that moves subjects between them.
type BridgeHistory struct {
	Bridge   string
	Flag     string
	Steps    []time.Time
	Legacy   []BridgePoint // one per step
	Symphony []BridgePoint
	Totals   map[string]BridgePoint // by system: legacy, symphony
	Rollout  []RolloutStep          // the effective percentage over the window
	Changes  []FlagEvent            // changes to the flag and the master switch within the window
	Upto     *time.Time             // the rollup covers what finished before this; nil: it never ran
}

// MigrationHistory reads every bridge's rows finished over w ending at now, by
// system, with its flag's rollout over the window.
func (s *Store) MigrationHistory(ctx context.Context, w Window, now time.Time) ([]BridgeHistory, error) {
	type bridge struct{ Name, Flag string }
	bridges, err := collect[bridge](ctx, s.db, "bridges", queries.OpsBridges)
	if err != nil || len(bridges) == 0 {
		return nil, err
	}
	bounds, err := s.latencyBounds(ctx)
	if err != nil {
		return nil, err
	}
	upto, err := s.rollupUpto(ctx, "bridge_rows")
	if err != nil {
		return nil, err
	}
	steps := w.Steps(now)
	out := make([]BridgeHistory, len(bridges))
	byName := map[string]*BridgeHistory{}
	flagNames := []string{"symphony"}
	for i, b := range bridges {
		out[i] = BridgeHistory{Bridge: b.Name, Flag: b.Flag, Steps: steps, Legacy: make([]BridgePoint, len(steps)),
			Symphony: make([]BridgePoint, len(steps)), Totals: map[string]BridgePoint{}, Upto: upto}
		byName[b.Name] = &out[i]
		flagNames = append(flagNames, b.Flag)
	}

	rows, err := s.db.Query(ctx, queries.OpsBridgeMinutes, steps[0])
	if err != nil {
		return nil, fmt.Errorf("error reading bridge history: %w", err)
	}
	var minute time.Time
	var name, system string
	var p BridgePoint
	var counts []int64
	_, err = pgx.ForEachRow(rows, []any{&minute, &name, &system, &p.Finished, &p.Succeeded, &p.Failed, &p.HandedBack, &counts}, func() error {
		h := byName[name]
		i := w.index(steps[0], minute)
		if h == nil || i < 0 {
			return nil
		}
		p.Latency = Histogram{Bounds: bounds, Counts: counts}
		series := h.Legacy
		if system == "symphony" {
			series = h.Symphony
		}
		series[i].add(p)
		t := h.Totals[system]
		t.add(p)
		h.Totals[system] = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading bridge history: %w", err)
	}

	changes, err := s.flagChanges(ctx, flagNames, steps[0])
	if err != nil {
		return nil, err
	}
	flags, err := s.Flags(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Rollout, out[i].Changes = rollout(out[i].Flag, flags, changes, steps[0])
	}
	return out, nil
}

func (s *Store) flagChanges(ctx context.Context, names []string, since time.Time) ([]FlagEvent, error) {
	rows, err := s.db.Query(ctx, queries.OpsFlagChanges, names, since)
	if err != nil {
		return nil, fmt.Errorf("error reading flag changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FlagEvent, error) {
		var c FlagEvent
		err := r.Scan(&c.Flag, &c.At, &c.By, &c.OldEnabled, &c.NewEnabled, &c.OldPercent, &c.NewPercent)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("error reading flag changes: %w", err)
	}
	return out, nil
}

// rollout replays the changes to flag and the master switch (oldest first; for
// each, the last change before start comes first) into the effective
// percentage from start on, and returns the changes within the window.
func rollout(flag string, current []Flag, changes []FlagEvent, start time.Time) ([]RolloutStep, []FlagEvent) {
	type state struct {
		on  bool
		pct int
	}
	st := map[string]*state{}
	// Before any change is known, a flag is as its first change found it, or
	// as it is now.
	for _, f := range current {
		if f.Name == flag || f.Name == "symphony" {
			st[f.Name] = &state{on: f.Enabled, pct: f.RolloutPercent}
		}
	}
	for _, name := range []string{flag, "symphony"} {
		for _, c := range changes {
			if c.Flag != name || st[name] == nil {
				continue
			}
			if c.At.Before(start) {
				st[name] = &state{on: deref(c.NewEnabled, st[name].on), pct: deref(c.NewPercent, st[name].pct)}
			} else {
				st[name] = &state{on: deref(c.OldEnabled, st[name].on), pct: deref(c.OldPercent, st[name].pct)}
			}
			break
		}
	}
	effective := func() int {
		m, f := st["symphony"], st[flag]
		if m == nil || f == nil || !m.on || !f.on {
			return 0
		}
		return f.pct
	}
	steps := []RolloutStep{{At: start, Percent: effective()}}
	var within []FlagEvent
	for _, c := range changes {
		if c.At.Before(start) || (c.Flag != flag && c.Flag != "symphony") || st[c.Flag] == nil {
			continue
		}
		s := st[c.Flag]
		s.on, s.pct = deref(c.NewEnabled, s.on), deref(c.NewPercent, s.pct)
		within = append(within, c)
		steps = append(steps, RolloutStep{At: c.At, Percent: effective()})
	}
	return slices.Clip(steps), within
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
