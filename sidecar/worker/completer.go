package worker

import (
	"context"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/queue"
)

const maxCompleteBatch = 500

// runCompleter writes outcomes back in batches: whatever has arrived by the time
// the previous write finished goes out in one statement. It drains the channel
// until it is closed, so every outcome produced before a stop is written.
func (w *Worker) runCompleter() {
	batch := make([]queue.Outcome, 0, maxCompleteBatch)
	for o := range w.outcomes {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < maxCompleteBatch {
			select {
			case o, ok := <-w.outcomes:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		w.flush(batch)
	}
}

// flush writes one batch, retrying while the database is unreachable. It gives
// up only when the final deadline (shutdown deadline + FinalWriteGrace) passes; those messages' leases then
// expire and they are rescued and tried again.
func (w *Worker) flush(batch []queue.Outcome) {
	w.m.CompleteBatch.Observe(float64(len(batch)))
	for failures := 0; ; failures++ {
		ctx, cancel := context.WithTimeout(w.final, 15*time.Second)
		written, err := w.store.Complete(ctx, batch)
		cancel()
		if err == nil {
			w.forget(batch, written)
			return
		}
		w.m.CompleteErrors.Inc()
		if w.final.Err() != nil {
			w.log.Error("could not write outcomes before the final deadline; their leases will expire and they will be retried",
				"count", len(batch), "error", err)
			return
		}
		wait := min(time.Duration(failures+1)*250*time.Millisecond, 5*time.Second)
		w.log.Warn("writing outcomes failed; retrying", "count", len(batch), "error", err, "retry_in", wait)
		select {
		case <-w.final.Done():
		case <-time.After(wait):
		}
	}
}

func (w *Worker) forget(batch []queue.Outcome, written []int64) {
	w.mu.Lock()
	for _, o := range batch {
		delete(w.holding, o.ID)
	}
	w.mu.Unlock()
	if len(written) == len(batch) {
		// written holds distinct ids of the batch (rows updated), so all of
		// them: the usual case, without a set of a batch's ids to build.
		return
	}
	ok := make(map[int64]struct{}, len(written))
	for _, id := range written {
		ok[id] = struct{}{}
	}
	for _, o := range batch {
		if _, found := ok[o.ID]; !found {
			w.m.LostLeases.Inc()
			w.log.Warn("outcome not written: the lease was rescued before it finished; the message will be tried again",
				"id", o.ID, "attempt", o.Attempt, "state", o.State)
		}
	}
}
