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
	written, ok := w.retryWrite(len(batch), func(ctx context.Context) ([]int64, error) {
		return w.store.Complete(ctx, batch)
	})
	if ok {
		w.forget(batch, written)
	}
}

// retryWrite runs write, a write of count outcomes, until it succeeds: each
// try has 15 s, and a failed one is tried again after a wait that grows to 5 s.
// It gives up (false) only when the final deadline passes; the outcomes'
// leases then expire, and rescue returns those messages to be tried again.
func (w *Worker) retryWrite(count int, write func(context.Context) ([]int64, error), attrs ...any) ([]int64, bool) {
	for failures := 0; ; failures++ {
		ctx, cancel := context.WithTimeout(w.final, 15*time.Second)
		written, err := write(ctx)
		cancel()
		if err == nil {
			return written, true
		}
		w.m.CompleteErrors.Inc()
		if w.final.Err() != nil {
			w.log.Error("could not write outcomes before the final deadline; their leases will expire and they will be retried",
				append([]any{"count", count, "error", err}, attrs...)...)
			return nil, false
		}
		wait := min(time.Duration(failures+1)*250*time.Millisecond, 5*time.Second)
		w.log.Warn("writing outcomes failed; retrying", append([]any{"count", count, "error", err, "retry_in", wait}, attrs...)...)
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
