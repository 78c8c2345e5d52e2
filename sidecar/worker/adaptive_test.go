package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// ordered records the order in which messages were handled, and each one's
// place in it.
type ordered struct {
	n      atomic.Int64
	place  map[int64]int64 // id → order; written under the ids' own slots
	urgent atomic.Int64    // the order of the urgent message, once handled
	id     atomic.Int64
}

func (o *ordered) Handle(_ context.Context, m *msgtype.Message) (json.RawMessage, error) {
	k := o.n.Add(1)
	if m.ID == o.id.Load() {
		o.urgent.Store(k)
	}
	time.Sleep(2 * time.Millisecond) // a fast provider
	return json.RawMessage(`{}`), nil
}

// With automatic prefetch and claims of 500 (the defaults), a transactional
// email dispatched behind a campaign's backlog of 20,000 goes out before the
// backlog: the sidecar holds only about 50 ms of work, and each claim takes
// the highest priority first. (Eight slots of 2 ms each: claims outpace the
// slots, so a fixed prefetch of thousands would fill, and the urgent message
// would wait behind all of it.)
func TestWorker_PriorityWinsOverABacklogAtDefaultSettings(t *testing.T) {
	t.Parallel()
	const backlog = 20000
	pool := prefetchSetup(t, backlog) // priority 0
	ctx := context.Background()
	h := &ordered{}
	h.id.Store(-1)
	w := worker.New(queue.NewStore(pool, "w-priority"), msgtype.Handlers{"email.send": h}, worker.Config{
		Queues: map[string]int{"email": 8}, ClaimBatch: 500, Prefetch: worker.AutoPrefetch,
		Lease: 10 * time.Second, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
		ShutdownTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), metrics.New())
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "the backlog is being worked", func() bool { return h.n.Load() >= 2000 })
	var id int64
	if err := pool.QueryRow(ctx, `insert into symphony.messages (kind, payload, priority) values ('email.send',
		'{"to":"vip@example.com","from":"me@example.com","subject":"Your code","text":"123456"}', 10) returning id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	h.id.Store(id)
	sentAt := h.n.Load()
	waitUntil(t, "the urgent message is sent", func() bool { return h.urgent.Load() > 0 })
	behind := h.urgent.Load() - sentAt
	if behind > 1000 {
		t.Fatalf("the urgent message went out %d messages after it was dispatched", behind)
	}
	if left := backlog - h.n.Load(); left < 5000 {
		t.Fatalf("only %d of the backlog were left when the urgent message went out", left)
	}
	t.Logf("the urgent message went out %d messages after its dispatch", behind)
}

// gauged is a provider answering in 50 ms that records the most attempts
// running at once among those of messages from id from on (past the first
// claim's) that start from its first call's start+after on; silent says
// whether it states its rate limit (msgtype.SilentLimit). A first-claim
// attempt that starts late, its goroutine not scheduled for a while on a
// loaded machine, is not counted: it was started under the first limit.
type gauged struct {
	silent        bool
	after         time.Duration
	from          int64
	first         atomic.Int64 // unix ns of the first call
	running, peak atomic.Int64
}

func (g *gauged) ProviderStatesNoRateLimit() bool { return g.silent }

func (g *gauged) Handle(_ context.Context, m *msgtype.Message) (json.RawMessage, error) {
	now := time.Now().UnixNano()
	g.first.CompareAndSwap(0, now)
	// Only attempts that start from after on count, and only among
	// themselves: one started a moment before, while the limit was still
	// the first one, is not the caution's (a race-detector run saw 5 at
	// once when such an attempt was still running).
	if m.ID >= g.from && now-g.first.Load() >= int64(g.after) {
		n := g.running.Add(1)
		defer g.running.Add(-1)
		for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
		}
	}
	time.Sleep(50 * time.Millisecond)
	return json.RawMessage(`{}`), nil
}

// A queue whose provider states no rate limit, with none known yet, runs 4
// attempts at once for its first second (what is in flight when such a
// provider's window fills is refused); one whose provider states its limit
// grows from 16 at once, doubling every round trip.
func TestWorker_CautiousWhileASilentProvidersLimitIsUnknown(t *testing.T) {
	t.Parallel()
	for _, silent := range []bool{true, false} {
		pool := prefetchSetup(t, 2000)
		var first int64
		if err := pool.QueryRow(context.Background(), `select min(id) from symphony.messages`).Scan(&first); err != nil {
			t.Fatal(err)
		}
		// From 200 ms after the first call, past the first claim's 16
		// (they are the lowest ids): the limit fell to 4 at the tuner's
		// first tick after the first call.
		g := &gauged{silent: silent, after: 200 * time.Millisecond, from: first + 16}
		stop := startWorker(t, pool, g, 256, worker.AutoPrefetch)
		waitUntil(t, "the first call", func() bool { return g.first.Load() > 0 })
		time.Sleep(time.Until(time.Unix(0, g.first.Load()).Add(900 * time.Millisecond)))
		peak := g.peak.Load()
		stop()
		if silent && peak > 4 {
			t.Errorf("a silent provider's queue ran %d attempts at once in its first second, want 4", peak)
		}
		if !silent && peak <= 16 {
			t.Errorf("a queue whose provider states its limit ran %d at once at most in its first second, want slow start beyond 16", peak)
		}
		t.Logf("silent %v: at most %d at once between 0.2 s and 0.9 s", silent, peak)
	}
}
