package worker

import (
	"context"
	"time"
)

// runMaintenance keeps this sidecar's side of the bargain while it runs: its
// heartbeat, the leases of messages it still holds, and rescue of leases other
// sidecars let expire (pg_cron's tick does the same where pg_cron exists).
// Beside it run the Config.Periodic steps of others.
func (w *Worker) runMaintenance(ctx context.Context) {
	periodic := make(chan struct{})
	go func() { defer close(periodic); w.runPeriodic(ctx) }()
	defer func() { <-periodic }()
	beat := time.NewTicker(w.cfg.Heartbeat)
	defer beat.Stop()
	extend := time.NewTicker(w.cfg.Lease / 3)
	defer extend.Stop()
	rescue := time.NewTicker(w.cfg.RescueInterval)
	defer rescue.Stop()
	w.rescue(ctx) // a restart after a crash finds its own old leases quickly
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if err := w.store.Heartbeat(ctx, w.cfg.Info); err != nil && ctx.Err() == nil {
				w.log.Warn("heartbeat failed", "error", err)
			}
			if w.sharesConcurrency() {
				w.ReloadLimits(ctx) // a share follows the sidecars that come and go
			}
		case <-extend.C:
			w.extendLeases(ctx)
		case <-rescue.C:
			w.rescue(ctx)
		}
	}
}

func (w *Worker) extendLeases(ctx context.Context) {
	w.mu.Lock()
	ids := make([]int64, 0, len(w.holding))
	for id := range w.holding {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	if _, err := w.store.ExtendLeases(ctx, ids, w.cfg.Lease); err != nil && ctx.Err() == nil {
		w.log.Warn("extending leases failed", "count", len(ids), "error", err)
	}
}

func (w *Worker) rescue(ctx context.Context) {
	n, err := w.store.RescueExpired(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("rescuing expired leases failed", "error", err)
		}
		return
	}
	if n > 0 {
		w.m.Rescued.Add(float64(n))
		w.log.Warn("rescued expired leases", "count", n)
		w.Wake("*")
	}
}
