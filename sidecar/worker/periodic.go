package worker

import (
	"context"
	"sync"
	"time"
)

// Periodic is a step the worker runs on a timer, beside its own maintenance,
// for housekeeping that belongs to something else: a kind's (campaigns
// pause the ones whose processing chain ended, handler.StalledCampaigns). The
// worker knows only when to run it: at start, then every Every (default:
// Config.RescueInterval), until it stops. A step that fails is logged and
// runs again at its next turn; steps run one at a time each, in goroutines
// of their own, so a slow one delays neither the others nor the leases.
type Periodic struct {
	Name  string        // for the log
	Every time.Duration // how often; 0 is Config.RescueInterval
	Run   func(ctx context.Context) error
}

// runPeriodic runs every Config.Periodic step until ctx ends, and returns
// when the last has returned.
func (w *Worker) runPeriodic(ctx context.Context) {
	var steps sync.WaitGroup
	for _, p := range w.cfg.Periodic {
		every := p.Every
		if every <= 0 {
			every = w.cfg.RescueInterval
		}
		steps.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				if err := p.Run(ctx); err != nil && ctx.Err() == nil {
					w.log.Warn("periodic step failed", "step", p.Name, "error", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	steps.Wait()
}
