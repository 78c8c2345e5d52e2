package worker

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// attempt is the context of one handler attempt: the worker's values, the
// attempt's deadline, and cancellation when the deadline passes, when the
// shutdown deadline interrupts running work (w.hard), or when the attempt
// ends. It behaves as context.WithTimeout(w.hard, HandlerTimeout) did, but a
// deadline is a field the worker's watchdog reads, not a runtime timer plus a
// registration in w.hard's set of children: those were 7 % of the sidecar's
// CPU at 25k messages/s.
type attempt struct {
	// values are w.hard's values without its cancellation: a context made
	// by context.WithoutCancel, which also makes context.Cause of an
	// attempt its own Err rather than w.hard's cause.
	values   context.Context
	deadline time.Time
	p        *producer // the queue it runs for: Value(producerKey{})

	done  atomic.Value // chan struct{}, made on first use; closed by cancel
	ended atomic.Bool  // err is set: Err need not lock before then
	mu    sync.Mutex
	err   error
	// after are the functions of AfterFunc not yet run or stopped. Contexts
	// derived from this one register there instead of each waiting for it
	// in a goroutine of their own.
	after []*func()
}

// closedchan is Done of an attempt that ended before anyone asked for Done.
var closedchan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newAttempt(values context.Context, deadline time.Time) *attempt {
	return &attempt{values: values, deadline: deadline}
}

func (a *attempt) Deadline() (time.Time, bool) { return a.deadline, true }

func (a *attempt) Value(key any) any {
	if _, ok := key.(producerKey); ok {
		return a.p
	}
	return a.values.Value(key)
}

func (a *attempt) Done() <-chan struct{} {
	if d := a.done.Load(); d != nil {
		return d.(chan struct{})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := a.done.Load(); d != nil {
		return d.(chan struct{})
	}
	d := make(chan struct{})
	a.done.Store(d)
	return d
}

func (a *attempt) Err() error {
	if !a.ended.Load() {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// AfterFunc lets context.WithCancel, WithTimeout and AfterFunc of this
// context register without a goroutine each (the context package looks for
// this method).
func (a *attempt) AfterFunc(f func()) (stop func() bool) {
	a.mu.Lock()
	if a.err != nil {
		a.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	p := &f
	a.after = append(a.after, p)
	a.mu.Unlock()
	return func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		i := slices.Index(a.after, p)
		if i < 0 {
			return false // run already, or stopped
		}
		a.after = slices.Delete(a.after, i, i+1)
		return true
	}
}

// cancel ends the attempt with err unless it has ended already.
func (a *attempt) cancel(err error) {
	a.mu.Lock()
	if a.err != nil {
		a.mu.Unlock()
		return
	}
	a.err = err
	a.ended.Store(true) // before Done closes: whoever it wakes sees err
	if d := a.done.Load(); d != nil {
		close(d.(chan struct{}))
	} else {
		a.done.Store(closedchan)
	}
	after := a.after
	a.after = nil
	a.mu.Unlock()
	for _, f := range after {
		go (*f)()
	}
}

func (a *attempt) String() string { return "worker.attempt" }

// watch starts the watchdog of attempt deadlines; stop ends it.
func (w *Worker) watch() (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); w.runWatchdog(quit) }()
	return func() { close(quit); <-done }
}

// runWatchdog cancels attempts whose deadline has passed, and every running
// attempt once w.hard is cancelled, until stop is closed. Every attempt has
// the same timeout, so one started later never has an earlier deadline: the
// watchdog sleeps until the earliest deadline among the running ones, or,
// when none runs, until the next attempt starts (kick).
func (w *Worker) runWatchdog(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, busy := w.expire(time.Now())
		if !busy {
			w.idle.Store(true)
			// An attempt that started before idle was set may have been missed.
			if next, busy = w.expire(time.Now()); busy {
				w.idle.Store(false)
			}
		}
		var wake <-chan time.Time
		if busy {
			timer.Reset(time.Until(next))
			wake = timer.C
		}
		select {
		case <-stop:
			return
		case <-w.hard.Done():
			w.interrupt()
			return
		case <-wake:
		case <-w.kick:
			w.idle.Store(false)
		}
	}
}

// expire cancels the running attempts whose deadline is not after now and
// returns the earliest deadline among the others (busy: there are others).
func (w *Worker) expire(now time.Time) (next time.Time, busy bool) {
	for _, s := range w.slots {
		a := s.attempt.Load()
		if a == nil {
			continue
		}
		if !now.Before(a.deadline) {
			a.cancel(context.DeadlineExceeded)
			continue
		}
		if !busy || a.deadline.Before(next) {
			next, busy = a.deadline, true
		}
	}
	return next, busy
}

// interrupt cancels every running attempt: the shutdown deadline has passed.
// An attempt that starts later finds w.hard cancelled and cancels itself.
func (w *Worker) interrupt() {
	for _, s := range w.slots {
		if a := s.attempt.Load(); a != nil {
			a.cancel(context.Canceled)
		}
	}
}

// begin starts an attempt in slot s at now.
func (w *Worker) begin(s *slot, now time.Time) *attempt {
	a := newAttempt(w.values, now.Add(w.cfg.HandlerTimeout))
	a.p = s.p
	s.attempt.Store(a)
	if w.idle.Load() {
		signal(w.kick)
	}
	// After the Store: either the watchdog's interrupt sees this attempt, or
	// w.hard was cancelled before this check.
	if w.hard.Err() != nil {
		a.cancel(context.Canceled)
	}
	return a
}

// end finishes slot s's attempt a: its context is cancelled as a
// context.WithTimeout's cancel function would.
func (w *Worker) end(s *slot, a *attempt) {
	s.attempt.Store(nil)
	a.cancel(context.Canceled)
}
