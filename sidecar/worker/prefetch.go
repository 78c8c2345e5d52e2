package worker

import (
	"context"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// hold records claimed messages as this sidecar's until their outcome is
// written (or they are released): their leases are extended meanwhile.
func (w *Worker) hold(msgs []queue.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range msgs {
		w.holding[m.ID] = struct{}{}
	}
}

// release hands back prefetched messages that never started (the worker is
// stopping): pending again, their attempt not spent. If that fails their leases
// expire and rescue returns them, noting that the provider may have been called
// — not true, but on the safe side.
func (w *Worker) release(ctx context.Context, p *producer, waiting []*queue.Message) {
	if len(waiting) == 0 {
		return
	}
	ids := make([]int64, len(waiting))
	for i, m := range waiting {
		ids[i] = m.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n, err := w.store.Release(rctx, ids)
	if err != nil {
		w.log.Warn("could not hand back prefetched messages; their leases will expire and they will be rescued",
			"queue", p.queue, "count", len(ids), "error", err)
		return
	}
	w.mu.Lock()
	for _, id := range ids {
		delete(w.holding, id)
	}
	w.mu.Unlock()
	w.log.Info("handed back prefetched messages that had not started", "queue", p.queue, "count", n)
}
