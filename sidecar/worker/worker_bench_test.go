package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// quick succeeds at once after looking at its context, as handlers that reach
// pgx or net/http do.
type quick struct{}

var quickResult = json.RawMessage(`{"provider":"log","provider_message_id":"log-1","status":"captured"}`)

func (quick) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	default:
		return quickResult, nil
	}
}

// benchWorker returns a worker with its attempt deadlines watched as Run
// would, without a database; stop ends the watchdog.
func benchWorker(b *testing.B, slots int) *Worker {
	w := New(nil, msgtype.Handlers{"email.send": quick{}}, Config{
		Queues: map[string]int{"email": slots}, HandlerTimeout: 30 * time.Second, ShutdownTimeout: time.Second,
	}, slog.New(slog.DiscardHandler), metrics.New())
	w.values = context.Background()
	w.hard, w.cancelHard = context.WithCancel(w.values)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); w.runWatchdog(stop) }()
	b.Cleanup(func() { close(stop); <-done; w.cancelHard() })
	return w
}

// BenchmarkWorker_Handle measures the worker's own cost of one attempt around
// a handler that does nothing: routing, deadline, metrics, outcome.
//
//	go test ./sidecar/worker -run '^$' -bench Worker_ -benchmem
func BenchmarkWorker_Handle(b *testing.B) {
	w := benchWorker(b, 1)
	s := w.slots[0]
	m := &msgtype.Message{ID: 1, Kind: "email.send", Queue: "email", Attempt: 1, MaxAttempts: 5}
	b.ReportAllocs()
	for b.Loop() {
		if o := w.handle(s, m, nil); o.State != queue.Succeeded {
			b.Fatal(o)
		}
	}
}

// BenchmarkWorker_Slots measures a message's way from a claim through a slot
// goroutine to the outcome channel, with 200 slots as in the benchmarks (the
// database writes left out): the producer's part is queueUp of claims of
// lowWater messages whenever that many are free.
func BenchmarkWorker_Slots(b *testing.B) {
	const slots = 200
	w := benchWorker(b, slots)
	p := w.producers["email"]
	w.resize(p, slots, 0) // every slot runs, as a fixed concurrency did
	for _, s := range w.slots {
		go w.runSlot(s)
	}
	drained := make(chan int)
	go func() {
		n := 0
		for range w.outcomes {
			n++
		}
		drained <- n
	}()
	claim := make([]msgtype.Message, p.lowWater.Load())
	for i := range claim {
		claim[i] = msgtype.Message{ID: int64(i), Kind: "email.send", Queue: "email", Attempt: 1, MaxAttempts: 5}
	}
	b.ReportAllocs()
	sent := 0
	for b.Loop() {
		for int(p.capacity.Load()-p.held.Load()) < len(claim) {
			<-p.freed
		}
		w.queueUp(p, claim, w.units(context.Background(), p, claim), true)
		sent += len(claim)
	}
	w.running.Wait()
	close(p.work)
	close(w.outcomes)
	if n := <-drained; n != sent {
		b.Fatalf("%d outcomes for %d messages", n, sent)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/msg")
}
