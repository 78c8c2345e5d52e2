package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// prefetchAfter feeds the tuner a CPU-bound queue finishing perSecond
// messages a second whose claims take claim each, for two seconds, and
// returns the automatic prefetch it settles on.
func prefetchAfter(t *testing.T, perSecond int, claim time.Duration) int {
	t.Helper()
	w := New(nil, msgtype.Handlers{}, Config{Queues: map[string]int{"email": 1000}, ClaimBatch: 500, Prefetch: AutoPrefetch},
		slog.New(slog.DiscardHandler), metrics.New())
	p := w.producers["email"]
	now := time.Unix(0, 0)
	perTick := int64(perSecond) * int64(tuneTick) / int64(time.Second)
	for range 80 {
		p.claimTook(claim)
		p.done.Add(perTick)
		p.latencyNs.Add(perTick * int64(time.Microsecond))
		now = now.Add(tuneTick)
		w.tuneQueue(context.Background(), p, now)
	}
	return int(p.capacity.Load() - p.limit.Load())
}

// The automatic prefetch holds what the slots finish while two claims run:
// on a loaded machine a claim of 500 took 40-60 ms, and a prefetch of 50 ms
// of work (350 at 7,000 a second) left the slots idle during every claim; a
// fixed prefetch of 500 beat it by a fifth. Where claims are quick it stays
// at 50 ms of work, so that another sidecar finds the backlog.
func TestTuner_AutomaticPrefetchCoversTheClaims(t *testing.T) {
	t.Parallel()
	if got := prefetchAfter(t, 7000, 45*time.Millisecond); got != 500 {
		t.Errorf("prefetch %d at 7,000/s with claims of 45 ms, want the claim batch (500)", got)
	}
	if got := prefetchAfter(t, 4000, 2*time.Millisecond); got < 150 || got > 250 {
		t.Errorf("prefetch %d at 4,000/s with claims of 2 ms, want 50 ms of work (about 200)", got)
	}
}
