package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

type ctxKey struct{}

// testWorker is a worker without a database whose attempts run as Run runs
// them: values from a parent context, w.hard, the watchdog.
func testWorker(tb testing.TB, h msgtype.Handler, slots int, timeout time.Duration) *Worker {
	tb.Helper()
	w := New(nil, msgtype.Handlers{"email.send": h}, Config{
		Queues: map[string]int{"email": slots}, HandlerTimeout: timeout, ShutdownTimeout: time.Second,
		Retry: RetryPolicy{Base: time.Second, Max: time.Minute},
	}, slog.New(slog.DiscardHandler), metrics.New())
	w.values = context.WithValue(context.Background(), ctxKey{}, "from Run")
	w.hard, w.cancelHard = context.WithCancel(w.values)
	stop := w.watch()
	tb.Cleanup(func() { stop(); w.cancelHard() })
	return w
}

func testMessage() *msgtype.Message {
	return &msgtype.Message{ID: 7, Kind: "email.send", Queue: "email", Attempt: 1, MaxAttempts: 5}
}

// handleWithin runs one attempt in slot i, failing the test if it has not
// ended within limit.
func handleWithin(t *testing.T, w *Worker, i int, m *msgtype.Message, limit time.Duration) queue.Outcome {
	t.Helper()
	done := make(chan queue.Outcome, 1)
	go func() { done <- w.handle(w.slots[i], m, nil) }()
	select {
	case o := <-done:
		return o
	case <-time.After(limit):
		t.Fatalf("the attempt did not end within %s", limit)
		return queue.Outcome{}
	}
}

// handlerFunc adapts a function to Handler.
type handlerFunc func(ctx context.Context, m *msgtype.Message) (json.RawMessage, error)

func (f handlerFunc) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	return f(ctx, m)
}

// seen is what a handler saw of its context.
type seen struct {
	deadline     time.Time
	hasDeadline  bool
	value        any
	err, cause   error
	child, after error // of a context derived with WithTimeout, and whether AfterFunc ran
}

// waiting blocks until its context ends, deriving contexts from it as pgx and
// net/http do, and reports what it saw on out.
func waiting(out chan<- seen) msgtype.Handler {
	return handlerFunc(func(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
		var s seen
		s.deadline, s.hasDeadline = ctx.Deadline()
		s.value = ctx.Value(ctxKey{})
		child, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		ran := make(chan struct{})
		context.AfterFunc(ctx, func() { close(ran) })
		<-ctx.Done()
		<-child.Done()
		<-ran
		s.err, s.cause, s.child = ctx.Err(), context.Cause(ctx), child.Err()
		out <- s
		return nil, ctx.Err()
	})
}

// An attempt that outlives HandlerTimeout is cut off at its deadline, as
// context.WithTimeout would: Done closes, Err and Cause say DeadlineExceeded,
// derived contexts end too, and the outcome is a retry that may have sent.
func TestWorker_HandlerTimeoutCutsAttemptOff(t *testing.T) {
	t.Parallel()
	out := make(chan seen, 1)
	w := testWorker(t, waiting(out), 1, 100*time.Millisecond)
	began := time.Now()
	o := handleWithin(t, w, 0, testMessage(), 5*time.Second)
	took := time.Since(began)
	s := <-out
	if took < 100*time.Millisecond || took > 2*time.Second {
		t.Fatalf("attempt took %s, want it cut off at its 100ms deadline", took)
	}
	if !s.hasDeadline || s.deadline.Before(began.Add(100*time.Millisecond)) || s.deadline.After(began.Add(200*time.Millisecond)) {
		t.Errorf("Deadline() = %s, %v; want about 100ms after %s", s.deadline, s.hasDeadline, began)
	}
	if s.value != "from Run" {
		t.Errorf("Value = %v, want Run's context's value", s.value)
	}
	if s.err != context.DeadlineExceeded || s.cause != context.DeadlineExceeded || s.child != context.DeadlineExceeded {
		t.Errorf("Err %v, Cause %v, derived context's Err %v; want context.DeadlineExceeded each", s.err, s.cause, s.child)
	}
	if o.State != queue.Retry || !o.MaybeSent || !strings.Contains(o.Error, "exceeded its 100ms deadline") {
		t.Errorf("outcome %+v, want a retry that may have sent, saying the deadline passed", o)
	}
}

// Slots' attempts keep their own deadlines: a quick attempt and a slow one,
// one after the other and side by side, each end as they should.
func TestWorker_HandlerTimeoutPerAttempt(t *testing.T) {
	t.Parallel()
	slow := make(chan bool, 4)
	w := testWorker(t, handlerFunc(func(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
		if !<-slow {
			return json.RawMessage(`{}`), nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}), 2, 200*time.Millisecond)
	slow <- false
	if o := handleWithin(t, w, 0, testMessage(), 5*time.Second); o.State != queue.Succeeded {
		t.Fatalf("quick attempt: %+v", o)
	}
	time.Sleep(50 * time.Millisecond) // the watchdog now waits for the quick one's deadline
	slow <- true
	slow <- false
	began := time.Now()
	quick := make(chan queue.Outcome)
	go func() { time.Sleep(100 * time.Millisecond); quick <- w.handle(w.slots[1], testMessage(), nil) }()
	o := handleWithin(t, w, 0, testMessage(), 5*time.Second)
	took := time.Since(began)
	if o.State != queue.Retry || !strings.Contains(o.Error, "deadline") || took < 200*time.Millisecond || took > 2*time.Second {
		t.Fatalf("slow attempt after %s: %+v; want it cut off at 200ms", took, o)
	}
	if o := <-quick; o.State != queue.Succeeded {
		t.Fatalf("quick attempt beside it: %+v", o)
	}
}

// When the shutdown deadline passes (w.hard), running attempts are cancelled
// at once and their outcome says they were interrupted; an attempt starting
// after that is cancelled from the start.
func TestWorker_HardStopInterruptsAttempts(t *testing.T) {
	t.Parallel()
	out := make(chan seen, 2)
	w := testWorker(t, waiting(out), 1, time.Hour)
	done := make(chan queue.Outcome)
	go func() { done <- w.handle(w.slots[0], testMessage(), nil) }()
	time.Sleep(50 * time.Millisecond)
	w.cancelHard()
	for range 2 {
		select {
		case o := <-done:
			if o.State != queue.Retry || o.Code != "interrupted" || !o.MaybeSent {
				t.Errorf("outcome %+v, want a retry coded interrupted", o)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the attempt was not interrupted")
		}
		if s := <-out; s.err != context.Canceled || s.cause != context.Canceled || s.child != context.Canceled {
			t.Errorf("Err %v, Cause %v, derived Err %v; want context.Canceled each", s.err, s.cause, s.child)
		}
		go func() { done <- w.handle(w.slots[0], testMessage(), nil) }()
	}
}

// Once an attempt ends, its context is cancelled, as a WithTimeout context's
// cancel function does: whatever the handler left behind stops.
func TestWorker_AttemptContextEndsWithAttempt(t *testing.T) {
	t.Parallel()
	kept := make(chan context.Context, 2)
	w := testWorker(t, handlerFunc(func(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
		if m.Attempt == 2 {
			_ = ctx.Done() // Done asked for before the end, as pgx does
		}
		kept <- ctx
		return json.RawMessage(`{}`), nil
	}), 1, time.Hour)
	for attempt := 1; attempt <= 2; attempt++ {
		m := testMessage()
		m.Attempt = attempt
		if o := handleWithin(t, w, 0, m, 5*time.Second); o.State != queue.Succeeded {
			t.Fatalf("attempt %d: %+v", attempt, o)
		}
		ctx := <-kept
		select {
		case <-ctx.Done():
		default:
			t.Fatalf("attempt %d: context not done after the attempt", attempt)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("attempt %d: Err %v after the attempt, want context.Canceled", attempt, ctx.Err())
		}
	}
}

// Contexts derived from an attempt's register with it rather than each
// waiting in a goroutine of its own (the context package uses AfterFunc), and
// a stopped AfterFunc never runs.
func TestAttempt_DerivedContextsNeedNoGoroutine(t *testing.T) {
	t.Parallel()
	a := newAttempt(context.Background(), time.Now().Add(time.Hour))
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	for range 100 {
		_, cancel := context.WithTimeout(a, time.Minute)
		cancels = append(cancels, cancel)
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Errorf("%d more goroutines for 100 derived contexts", n)
	}
	ran := make(chan struct{}, 1)
	stop := context.AfterFunc(a, func() { ran <- struct{}{} })
	if !stop() || stop() {
		t.Error("stop: want true, then false")
	}
	for _, c := range cancels[:50] {
		c()
	}
	if len(a.after) != 50 {
		t.Errorf("%d functions registered after 50 of 100 derived contexts were cancelled", len(a.after))
	}
	a.cancel(context.DeadlineExceeded)
	for _, c := range cancels[50:] {
		c()
	}
	select {
	case <-ran:
		t.Error("a stopped AfterFunc ran")
	case <-time.After(50 * time.Millisecond):
	}
}
