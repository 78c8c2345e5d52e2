package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// Router finds the handler of a message kind.
type Router interface {
	Route(kind string) (msgtype.Handler, bool)
}

// Config tunes a Worker. Every duration must be positive.
type Config struct {
	// Queues maps each queue to the most of its messages that run at once:
	// the ceiling of its adaptive concurrency limit (see limiter).
	Queues          map[string]int
	ClaimBatch      int           // most messages one claim takes
	Lease           time.Duration // lease per claim; extended while work runs
	PollInterval    time.Duration // fallback poll when no wake-up arrives
	HandlerTimeout  time.Duration // deadline of one attempt
	ShutdownTimeout time.Duration // how long a stop waits for in-flight work
	Retry           RetryPolicy
	Heartbeat       time.Duration // how often the worker row is refreshed (default 10s)
	RescueInterval  time.Duration // how often expired leases are rescued (default 15s)
	Info            queue.WorkerInfo
	// Periodic are others' housekeeping steps, run on timers beside the
	// worker's maintenance (see Periodic).
	Periodic []Periodic
	// Prefetch is how many claimed messages of a queue may wait in this
	// sidecar for a free slot (0: claims never exceed the free slots). With
	// fast handlers it lets a queue of modest concurrency claim in big
	// batches; the price is that waiting messages are held (leased) here and
	// a later, higher-priority message waits behind them. AutoPrefetch: as
	// many as the queue finishes in prefetchHorizon, at most ClaimBatch.
	Prefetch int
}

// AutoPrefetch is Config.Prefetch for a prefetch that follows the queue's pace.
const AutoPrefetch = -1

// Worker claims, handles and completes messages until its context ends.
type Worker struct {
	store    *queue.Store
	handlers Router
	cfg      Config
	log      *slog.Logger
	m        *metrics.Metrics

	producers map[string]*producer
	outcomes  chan queue.Outcome
	running   sync.WaitGroup

	mu      sync.Mutex
	holding map[int64]struct{} // claimed and not yet written back: leases to extend

	// hard is cancelled when the shutdown deadline passes: running handlers are
	// told to stop. final is cancelled FinalWriteGrace later: outcome writes that
	// still fail then give up (those leases expire and are rescued). values is
	// Run's context without its cancellation: what attempts carry.
	values      context.Context
	hard        context.Context
	cancelHard  context.CancelFunc
	final       context.Context
	cancelFinal context.CancelFunc

	// slots are every queue's slot goroutines; the watchdog reads their
	// attempts' deadlines. It sleeps while idle until a kick.
	slots     []*slot
	slotGroup sync.WaitGroup // the slot goroutines, started as limits grow
	idle      atomic.Bool
	kick      chan struct{}

	learnMu  sync.Mutex
	learners map[string]*learner // by bucket (see learn.go)
}

// FinalWriteGrace is how long after the shutdown deadline outcomes may still be
// written. ShutdownTimeout + FinalWriteGrace must stay below the platform's kill
// timeout (Fly's kill_timeout).
const FinalWriteGrace = 5 * time.Second

type producer struct {
	queue  string
	bucket atomic.Pointer[queue.Bucket] // rate-limit bucket, nil when the queue has none
	// silent: the queue's messages went to a provider that states no rate
	// limit (msgtype.SilentLimit); until its bucket has a rate, the limiter
	// ramps up gently (limiter.caution).
	silent atomic.Bool
	// ceiling is the most slots (SYMPHONY_QUEUES); limit how many may run
	// now, set by the tuner (see tuner.go). capacity is limit + prefetch:
	// the most messages held (running or waiting) at once; the producer
	// claims when at least lowWater more can be held.
	ceiling  int
	limit    atomic.Int64
	capacity atomic.Int64
	lowWater atomic.Int64
	tune     tuning // the tuner goroutine's
	// held counts the claimed units (a message, or a batch of them going
	// out in one request) not finished yet: waiting in work or running.
	// Only the producer adds (at a claim), so a claim never takes more than
	// work has room for. inflight counts the running ones.
	held     atomic.Int64
	inflight atomic.Int64
	wake     chan struct{}
	freed    chan struct{}
	// work feeds the queue's slot goroutines: one long-lived goroutine per
	// slot, not one per message, whose stacks stay grown between messages
	// (growing a fresh goroutine's stack through JSON decoding and a provider
	// call was a seventh of the sidecar's CPU at high throughput). It buffers
	// every message held, so the slots take prefetched work by themselves
	// while the producer is busy claiming the next batch: when the producer
	// handed each message over, the slots stood idle during every claim.
	work chan unit
	// claimed and inFlight are the queue's series, looked up at the first
	// claim by the producer goroutine (the slots read inFlight only after
	// receiving a message from it).
	claimed  prometheus.Counter
	inFlight prometheus.Gauge
	prepBuf  []*msgtype.Message // the producer's, for handing a claim to a Preparer
	jobBuf   []msgtype.Job      // the producer's, for the jobs a Preparer returns
	// jobs are the jobs prepared for a claim, until units hands them to the
	// units that run their messages (the producer's).
	jobs  map[*msgtype.Message]msgtype.Job
	slots []*slot // ceiling of them; the first limit run (see tuner.go)
	// resized is closed (and replaced) whenever limit grows or the producer
	// stops: slots parked above the limit look again.
	resized atomic.Pointer[chan struct{}]
	closing atomic.Bool
	// Attempts finished since the tuner last looked (see tuner.go).
	// refused counts the 429s among them, whose durations latencyNs leaves
	// out (see finished).
	done, dropped, refused, latencyNs atomic.Int64
	// accepted counts the attempts the provider did not refuse with 429.
	accepted meter
	// refusedRun counts the 429s among this sidecar's latest answers from
	// the queue's provider in a row: 0 after any other answer.
	refusedRun atomic.Int64
	// notes counts the queue's notifications since the producer last woke
	// (wake holds at most one of them; see wakeMode.woken).
	notes atomic.Int64
	// heldBack is when (Unix nanoseconds) a claim last found the queue's rate
	// limit spent with messages waiting: the tuner then asks for the learned
	// rate to rise (see tuner.go).
	heldBack atomic.Int64
	// batchMax is the most a batch request takes for the messages of the
	// queue's last claim that held any that may be batched (0: none):
	// while it is above 1, claims take up to that many messages per free
	// slot (see claimWithin and queueUp).
	batchMax atomic.Int64
	// due wakes the producer when a retried or deferred message comes due
	// sooner than the next poll (see wakeAt).
	dueMu    sync.Mutex
	dueAt    time.Time
	dueTimer *time.Timer
	// Requests made to send messages and the messages they carried, single
	// and batched, for /status.
	singleRequests, batchRequests, batchedMessages atomic.Int64
	// claimNs is how long this queue's claims that found messages took
	// lately (a moving average, nanoseconds): the automatic prefetch covers
	// it (see tuner.go).
	claimNs atomic.Int64
	// pausedUntil (Unix nanoseconds) holds this sidecar's claims back after a
	// 429 at once, before the bucket's pause is written: every claim made
	// meanwhile would be refused too.
	pausedUntil atomic.Int64
}

// New returns a Worker over store, running handlers by message kind.
func New(store *queue.Store, handlers Router, cfg Config, log *slog.Logger, m *metrics.Metrics) *Worker {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.RescueInterval <= 0 {
		cfg.RescueInterval = 15 * time.Second
	}
	if cfg.ClaimBatch <= 0 {
		cfg.ClaimBatch = 100
	}
	if cfg.Prefetch < 0 && cfg.Prefetch != AutoPrefetch {
		cfg.Prefetch = 0
	}
	w := &Worker{
		store:     store,
		handlers:  handlers,
		cfg:       cfg,
		log:       log.With("component", "worker"),
		m:         m,
		producers: map[string]*producer{},
		outcomes:  make(chan queue.Outcome, 4096),
		holding:   map[int64]struct{}{},
		kick:      make(chan struct{}, 1),
	}
	for q, n := range cfg.Queues {
		p := &producer{queue: q, ceiling: n, wake: make(chan struct{}, 1), freed: make(chan struct{}, 1),
			work: make(chan unit, n+w.maxPrefetch()+unitSlack)}
		resized := make(chan struct{})
		p.resized.Store(&resized)
		p.tune.limiter = newLimiter(limitFloor, n, limitStart)
		w.resize(p, p.tune.limiter.limit, w.startPrefetch())
		for i := range n {
			s := &slot{p: p, index: i, kinds: map[string]*kindMetrics{}}
			p.slots = append(p.slots, s)
			w.slots = append(w.slots, s)
		}
		w.producers[q] = p
	}
	return w
}

// Wake tells the producer of queue (or every producer, for "*" or "") to claim now.
func (w *Worker) Wake(queue string) {
	if p, ok := w.producers[queue]; ok {
		p.notes.Add(1)
		signal(p.wake)
		return
	}
	if queue == "*" || queue == "" {
		for _, p := range w.producers {
			signal(p.wake)
		}
	}
}

// dueSlack is how long after a message's retry time its producer is woken:
// time for the completer to write the outcome that set it.
const dueSlack = 10 * time.Millisecond

// wakeAt wakes queue's producer in d (plus dueSlack), when a message put back
// for d comes due before the next poll would find it: a campaign step
// waiting 250 ms for its last batch to drain, a retry after a short backoff.
// One wake is pending per queue, the earliest.
func (w *Worker) wakeAt(queue string, d time.Duration) {
	p, ok := w.producers[queue]
	if !ok || d >= w.cfg.PollInterval {
		return
	}
	now := time.Now()
	at := now.Add(d + dueSlack)
	p.dueMu.Lock()
	defer p.dueMu.Unlock()
	if p.dueTimer != nil && p.dueAt.After(now) && !p.dueAt.After(at) {
		return // an earlier wake is pending: the claim it brings looks again
	}
	if p.dueTimer != nil {
		p.dueTimer.Stop()
	}
	p.dueAt = at
	p.dueTimer = time.AfterFunc(d+dueSlack, func() { signal(p.wake) })
}

func signal(c chan struct{}) {
	if len(c) > 0 {
		return // one is pending: the receiver wakes anyway
	}
	select {
	case c <- struct{}{}:
	default:
	}
}

// QueueState is one queue's load in this sidecar.
type QueueState struct {
	Queue string `json:"queue"`
	// Slots is how many of the queue's messages may run at once now (the
	// adaptive limit), Ceiling the most it may grow to (SYMPHONY_QUEUES),
	// Prefetch how many more may wait here for a slot.
	Slots    int   `json:"slots"`
	Ceiling  int   `json:"ceiling"`
	Prefetch int   `json:"prefetch"`
	InFlight int64 `json:"in_flight"`
	// ConcurrencyShare is this sidecar's share of the provider account's
	// concurrency learned in the queue's bucket, which bounds Slots (0:
	// none learned).
	ConcurrencyShare int `json:"concurrency_share,omitempty"`
	// Batching: provider requests made to send this queue's messages since
	// the sidecar started, single and batch, the messages the batch ones
	// carried, their mean size, and requests per message sent.
	SingleRequests     int64   `json:"single_requests"`
	BatchRequests      int64   `json:"batch_requests"`
	BatchedMessages    int64   `json:"batched_messages"`
	MeanBatchSize      float64 `json:"mean_batch_size"`
	RequestsPerMessage float64 `json:"requests_per_message"`
}

// Snapshot returns this sidecar's per-queue load.
func (w *Worker) Snapshot() []QueueState {
	out := make([]QueueState, 0, len(w.producers))
	for _, p := range w.producers {
		limit := int(p.limit.Load())
		q := QueueState{Queue: p.queue, Slots: limit, Ceiling: p.ceiling,
			Prefetch: int(p.capacity.Load()) - limit, InFlight: p.inflight.Load(),
			SingleRequests: p.singleRequests.Load(), BatchRequests: p.batchRequests.Load(), BatchedMessages: p.batchedMessages.Load()}
		if b := p.bucket.Load(); b != nil {
			q.ConcurrencyShare = b.Share
		}
		if q.BatchRequests > 0 {
			q.MeanBatchSize = float64(q.BatchedMessages) / float64(q.BatchRequests)
		}
		if sent := q.SingleRequests + q.BatchedMessages; sent > 0 {
			q.RequestsPerMessage = float64(q.SingleRequests+q.BatchRequests) / float64(sent)
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out
}

// Run works until ctx ends, then stops claiming, waits up to ShutdownTimeout for
// in-flight messages, writes every outcome it has, and returns.
func (w *Worker) Run(ctx context.Context) error {
	w.values = context.WithoutCancel(ctx)
	w.hard, w.cancelHard = context.WithCancel(w.values)
	defer w.cancelHard()
	w.final, w.cancelFinal = context.WithCancel(context.WithoutCancel(ctx))
	defer w.cancelFinal()

	if err := w.store.Heartbeat(ctx, w.cfg.Info); err != nil {
		w.log.Warn("could not register worker", "error", err)
	}
	w.ReloadLimits(ctx)

	var completer sync.WaitGroup
	completer.Add(1)
	go func() { defer completer.Done(); w.runCompleter() }()

	stopWatchdog := w.watch()
	slots := &w.slotGroup
	for _, p := range w.producers {
		w.startSlots(p)
	}
	var loops sync.WaitGroup
	loops.Go(func() { w.runTuner(ctx) })
	for _, p := range w.producers {
		loops.Add(1)
		go func() { defer loops.Done(); w.runProducer(ctx, p) }()
	}
	loops.Add(1)
	go func() { defer loops.Done(); w.runMaintenance(ctx) }()

	<-ctx.Done()
	giveUp := time.AfterFunc(w.cfg.ShutdownTimeout+FinalWriteGrace, w.cancelFinal)
	defer giveUp.Stop()
	loops.Wait() // no more claims from here on
	w.log.Info("stopping: waiting for in-flight messages", "in_flight", w.inFlight(), "deadline", w.cfg.ShutdownTimeout)

	done := make(chan struct{})
	go func() { w.running.Wait(); close(done) }()
	timer := time.NewTimer(w.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		w.log.Warn("shutdown deadline passed: interrupting in-flight messages", "in_flight", w.inFlight())
		w.cancelHard()
		<-done // handlers return promptly once their context is cancelled
	}
	slots.Wait() // each producer closed its work channel as it stopped
	stopWatchdog()
	close(w.outcomes)
	completer.Wait()

	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.store.Stopped(final); err != nil {
		w.log.Warn("could not record worker stop", "error", err)
	}
	w.log.Info("stopped")
	return nil
}

func (w *Worker) inFlight() int64 {
	var n int64
	for _, p := range w.producers {
		n += p.inflight.Load()
	}
	return n
}

func (w *Worker) runProducer(ctx context.Context, p *producer) {
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	more := true // work may be waiting: claim until a claim comes back short
	failures := 0
	var mode wakeMode // not listening yet: the first idle moment registers
	// woken: the next claim answers a wake-up. One that finds nothing is tried
	// again wakeRecheck later (recheck): the WAL feed can report an insert
	// from its commit record a moment before the row becomes visible to other
	// transactions, and with only the fallback poll left that moment would
	// cost a second. A NOTIFY arrives after the commit is visible; for it the
	// second look is one spare claim.
	woken := false
	var recheck <-chan time.Time
	var listenLook <-chan time.Time // the looks after starting to listen
	var listenDelay time.Duration
	defer func() {
		// Slots parked above the limit get up to see the work channel close.
		p.closing.Store(true)
		p.wakeSlots()
		// Whatever no slot has started is handed back, not run: a stop lets
		// running messages finish, nothing more. A slot may still take one in
		// the meantime; each message goes to exactly one of the two.
		var unstarted []*msgtype.Message
		units := 0
	drain:
		for {
			select {
			case u := <-p.work:
				units++
				if u.batch != nil {
					unstarted = append(unstarted, u.batch.Msgs...)
				} else {
					unstarted = append(unstarted, u.m)
				}
			default:
				break drain
			}
		}
		w.release(ctx, p, unstarted)
		p.held.Add(-int64(units))
		for range unstarted {
			w.running.Done()
		}
		close(p.work) // the slot goroutines finish what they have and return
	}()
	for {
		if more && ctx.Err() == nil {
			// Claim only once a worthwhile number of slots is free (or none is
			// busy). Claiming each slot as it frees would turn a busy queue into
			// one-message transactions, each paying a commit.
			if pause := time.Until(time.Unix(0, p.pausedUntil.Load())); pause > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(pause):
				}
			}
			held := int(p.held.Load())
			// Under a rate limit the bucket's tokens space the claims out
			// already: a free slot is worth a claim, so that a message that
			// goes first (transactional mail during a campaign) does not
			// wait for several batch requests to finish.
			free := int(p.capacity.Load()) - held
			if free >= int(p.lowWater.Load()) || (held == 0 && free > 0) || (free > 0 && p.limited()) {
				began := time.Now()
				msgs, n, wait, err := w.claim(ctx, p, free)
				if err == nil && len(msgs) > 0 {
					p.claimTook(time.Since(began))
				}
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					failures++
					w.m.ClaimErrors.WithLabelValues(p.queue).Inc()
					wait := min(time.Duration(failures)*200*time.Millisecond, 5*time.Second)
					w.log.Warn("claim failed; retrying", "queue", p.queue, "error", err, "retry_in", wait)
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
					continue
				}
				failures = 0
				if ctx.Err() != nil {
					// Stopped while claiming: what the claim took never starts.
					w.release(ctx, p, pointers(msgs))
					return
				}
				if len(msgs) > 0 {
					mode.lastWork = time.Now()
					w.hold(msgs)
					w.prepare(ctx, p, msgs)
					w.queueUp(p, msgs, w.units(ctx, p, msgs), len(msgs) == n)
				} else if woken {
					recheck = time.After(wakeRecheck)
				}
				woken = false
				more = len(msgs) == n
				if wait > 0 {
					// The queue's rate limit is spent: try again when a token is due.
					w.m.RateLimitWaits.WithLabelValues(p.queue).Inc()
					p.heldBack.Store(time.Now().UnixNano())
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
					more = true
					continue
				}
			}
		}
		idle := !more && p.held.Load() == 0
		if idle && mode.quiet(time.Now()) && ctx.Err() == nil {
			// About to sleep: ask dispatches to notify, then look once more for
			// anything committed while they did not, and again listenRecheck
			// later for a dispatch that decided not to notify before we
			// listened but committed after that first look.
			w.setListening(ctx, p, &mode, true)
			if mode.listening {
				more = true
				listenDelay = listenRecheck
				listenLook = time.After(listenDelay)
				continue
			}
		}
		var fast <-chan time.Time
		if !mode.listening {
			fast = time.After(busyPoll)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			more, woken = true, true
			if mode.woken(time.Now(), p.notes.Swap(0)) {
				w.setListening(ctx, p, &mode, false) // busy: poll instead of paying for NOTIFYs
			}
		case <-p.freed:
		case <-fast:
			more = true
		case <-recheck:
			more, recheck = true, nil
		case <-listenLook:
			// Looks after starting to listen, each listenBackoff times further
			// apart, while the queue stays idle and listening: a transaction
			// held open a little longer (a loaded machine's test, or a
			// client's slow commit) is found without waiting for the poll.
			more, listenLook = true, nil
			if listenDelay *= listenBackoff; mode.listening && listenDelay <= listenRecheckMax {
				listenLook = time.After(listenDelay)
			}
		case <-poll.C:
			more = true
		}
	}
}

func pointers(msgs []msgtype.Message) []*msgtype.Message {
	ptrs := make([]*msgtype.Message, len(msgs))
	for i := range msgs {
		ptrs[i] = &msgs[i]
	}
	return ptrs
}

// unitSlack is room in a queue's work channel beyond its capacity: a claim
// that gathers the members of unfinished batches may come out a few units
// over what it planned.
const unitSlack = 64

// queueUp puts a claim's units where the queue's slots take them (full: the
// claim got all it asked for). It does not block: the claim took at most
// capacity - held units (give or take unitSlack), and work holds the most
// capacity can be.
func (w *Worker) queueUp(p *producer, msgs []msgtype.Message, units []unit, full bool) {
	w.claimedN(p, len(msgs))
	p.held.Add(int64(len(units)))
	w.running.Add(len(msgs))
	// The next claim takes a batch's worth per free slot (and, under a rate
	// limit, per token) if this one held any message that may be batched:
	// claimed one per token, a backlog of bulk mail would never batch. Only
	// a full claim without any stops that: a few transactional messages
	// claimed alone say nothing of the backlog behind them.
	batchMax := 0
	for _, u := range units {
		if u.batch != nil {
			batchMax = max(batchMax, u.batch.max)
		} else if _, most, ok := w.batchKey(u.m); ok {
			batchMax = max(batchMax, most)
		}
		p.work <- u
	}
	if batchMax > 0 || full {
		p.batchMax.Store(int64(batchMax))
	}
}

// limited reports whether p's claims take tokens from a rate-limit bucket.
func (p *producer) limited() bool {
	b := p.bucket.Load()
	return b != nil && b.Limited
}

// claimedN counts n claimed messages of p in the metrics.
func (w *Worker) claimedN(p *producer, n int) {
	if p.claimed == nil {
		p.claimed, p.inFlight = w.m.Claimed.WithLabelValues(p.queue), w.m.InFlight.WithLabelValues(p.queue)
	}
	p.claimed.Add(float64(n))
}

const maxErrorLen = 2000

// handle runs one attempt of m in slot s, under a HandlerTimeout deadline
// that the shutdown deadline cuts short: job's, when its handler prepared
// one at the claim, else the handler's.
func (w *Worker) handle(s *slot, m *msgtype.Message, job msgtype.Job) queue.Outcome {
	km := s.metrics(m)
	h, ok := w.handlers.Route(m.Kind)
	if !ok {
		return w.decide(km, m, nil, provider.Permanent(fmt.Errorf("no handler for kind %q in this sidecar", m.Kind)), 0)
	}
	s.p.sawHandler(h)
	if until := s.p.pausedUntil.Load(); until > time.Now().UnixNano() {
		// The provider refused this queue's pace a moment ago and its window
		// is spent: what was claimed before then would be refused too. Back
		// to pending, no attempt spent; the bucket paces it later.
		return w.record(km, m, queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Deferred,
			RetryIn: time.Until(time.Unix(0, until)), Error: "held back: the provider refused this queue's pace a moment ago"}, 0)
	}
	start := time.Now()
	ctx := w.begin(s, start)
	defer w.end(s, ctx)
	result, err := call(ctx, h, m, job)
	took := time.Since(start)
	km.observe(w.m, took)
	s.p.finished(took, err)
	if err != nil && w.hard.Err() != nil {
		err = fmt.Errorf("interrupted by shutdown; the provider may have been called: %w", err)
		return w.record(km, m, queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Retry,
			Error: truncate(err.Error()), Code: "interrupted", MaybeSent: true}, took)
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = &provider.Error{Provider: m.Kind, MaybeSent: true, Err: err,
			Message: fmt.Sprintf("attempt exceeded its %s deadline; the provider may have been called", w.cfg.HandlerTimeout)}
	}
	return w.decide(km, m, result, err, took)
}

// call runs job, or h on m without one, turning a panic into an error so one
// bad message cannot take the sidecar down.
func call(ctx context.Context, h msgtype.Handler, m *msgtype.Message, job msgtype.Job) (result json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	if job != nil {
		return job.Send(ctx)
	}
	return h.Handle(ctx, m)
}

// decide turns an attempt's result into the outcome written back.
func (w *Worker) decide(km *kindMetrics, m *msgtype.Message, result json.RawMessage, err error, took time.Duration) queue.Outcome {
	o := queue.Outcome{ID: m.ID, Attempt: m.Attempt, MaybeSent: err != nil && provider.MaybeSent(err)}
	if err == nil {
		o.State, o.Result = queue.Succeeded, result
		return w.record(km, m, o, took)
	}
	if cancel, ok := errors.AsType[*msgtype.CancelError](err); ok {
		o.State, o.Code, o.Error, o.Result, o.MaybeSent = queue.Cancelled, cancel.By, truncate(cancel.Reason), cancel.Result, false
		return w.record(km, m, o, took)
	}
	if wait, ok := errors.AsType[*msgtype.DeferError](err); ok {
		// Error only feeds the log: a deferral records no error.
		o.State, o.RetryIn, o.Error, o.MaybeSent = queue.Deferred, wait.After, truncate(wait.Reason), false
		return w.record(km, m, o, took)
	}
	switch {
	case provider.IsPermanent(err):
		o.State, o.Error, o.Code = queue.Dead, truncate(err.Error()), provider.ErrorCode(err)
	case refusal(err) && w.paced(m.Queue):
		// Refused for our pace, not for the message: it goes back to wait
		// for the bucket without spending an attempt, or a busy minute of
		// 429s would kill messages the provider never looked at. The
		// bucket (paused, its learned rate lowered) paces the next try.
		o.State, o.Error, o.MaybeSent = queue.Deferred, truncate(err.Error()), false
		o.RetryIn = max(provider.RetryAfter(err), defaultThrottle)
	case m.Attempt >= m.MaxAttempts:
		o.State, o.Code = queue.Dead, provider.ErrorCode(err)
		o.Error = truncate(fmt.Sprintf("gave up after %d attempts: %s", m.Attempt, err))
	default:
		o.State, o.Error, o.Code = queue.Retry, truncate(err.Error()), provider.ErrorCode(err)
		o.RetryIn = w.cfg.Retry.Delay(m.Attempt, provider.RetryAfter(err))
		if refusal(err) && provider.RetryAfter(err) <= 0 {
			// Refused for our pace, not for the message: the bucket paces
			// its next try, so it need not wait out a backoff.
			o.RetryIn = defaultThrottle
		}
	}
	w.refused(m, err)
	return w.record(km, m, o, took)
}

func (w *Worker) record(km *kindMetrics, m *msgtype.Message, o queue.Outcome, took time.Duration) queue.Outcome {
	km.processed(w.m, o.State).Inc()
	if o.State == queue.Retry || o.State == queue.Deferred {
		w.wakeAt(m.Queue, o.RetryIn)
	}
	if o.State == queue.Succeeded && !w.log.Enabled(context.Background(), slog.LevelDebug) { // as Debug asks
		return o // the common case: no attributes to build for a line not written
	}
	attrs := []any{"id", m.ID, "kind", m.Kind, "queue", m.Queue, "attempt", m.Attempt, "took", took}
	switch o.State {
	case queue.Succeeded:
		w.log.Debug("message succeeded", attrs...)
	case queue.Retry:
		w.log.Warn("attempt failed; will retry", append(attrs, "error", o.Error, "code", o.Code, "retry_in", o.RetryIn)...)
	case queue.Dead:
		w.log.Error("message dead", append(attrs, "error", o.Error, "code", o.Code)...)
	case queue.Cancelled:
		w.log.Info("message cancelled", append(attrs, "by", o.Code, "reason", o.Error)...)
	case queue.Deferred:
		w.log.Debug("message deferred", append(attrs, "reason", o.Error, "for", o.RetryIn)...)
	}
	return o
}

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	return s[:maxErrorLen] + "…"
}
