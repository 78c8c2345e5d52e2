package worker

import (
	"context"
	"time"
)

// wakeMode decides, per queue, how this sidecar learns of new messages.
//
// Listening: its row in symphony.listeners makes every dispatching statement
// NOTIFY, and the sidecar sleeps until one arrives (or the fallback poll).
// That is the fastest wake-up, but a NOTIFY costs the dispatching transaction
// a global lock at commit, which halved single-row dispatch throughput.
//
// Polling: when notifications come faster than busyWakes per busyWindow, NOTIFY is
// no longer worth its price: the sidecar removes its row, so dispatches stop
// notifying, and claims every busyPoll instead, which at that rate finds work
// almost every time. After quietAfter with nothing found it listens again.
type wakeMode struct {
	listening bool
	window    time.Time // start of the current counting window
	wakes     int64     // notifications counted in it
	lastWork  time.Time // when a claim last found messages
}

const (
	busyWakes  = 20
	busyWindow = 100 * time.Millisecond
	busyPoll   = 5 * time.Millisecond
	quietAfter = 250 * time.Millisecond
	// wakeRecheck is how long after a wake-up that found nothing the queue is
	// claimed from once more (see runProducer).
	wakeRecheck = 10 * time.Millisecond
	// listenRecheck is how long after starting to listen the queue is claimed
	// from once more. A dispatch decides whether to NOTIFY when it inserts, not
	// when it commits: one that inserted while nobody listened and commits
	// just after the look that follows registration would otherwise wait for
	// the fallback poll (SYMPHONY_POLL_INTERVAL, 1 s). Further looks follow at
	// listenBackoff times the previous gap, up to listenRecheckMax (50 ms,
	// 250 ms, 1.25 s): four claims of an idle queue in all. A transaction that
	// stays open longer after its insert still waits for the poll.
	listenRecheck    = 50 * time.Millisecond
	listenBackoff    = 5
	listenRecheckMax = 2 * time.Second
)

// woken counts the notifications behind a wake-up and reports whether the
// queue is now busy enough to poll instead of listening. It counts the
// notifications, not the wake-ups: a producer that is slow to come round (a
// loaded machine, a long claim) takes many notifications in one wake-up, and
// counting those as one kept a queue dispatched to at several hundred a second
// listening, paying a NOTIFY per dispatch.
func (m *wakeMode) woken(now time.Time, notes int64) bool {
	if now.Sub(m.window) > busyWindow {
		m.window, m.wakes = now, 0
	}
	m.wakes += max(notes, 1)
	return m.listening && m.wakes >= busyWakes
}

// quiet reports whether a polling queue has found nothing for long enough to
// go back to listening.
func (m *wakeMode) quiet(now time.Time) bool {
	return !m.listening && now.Sub(m.lastWork) >= quietAfter
}

// setListening records the mode in symphony.listeners. On failure the mode is
// left as it was and the next turn of the loop tries again; meanwhile the
// fallback poll and the pg_cron tick still find every message.
func (w *Worker) setListening(ctx context.Context, p *producer, mode *wakeMode, on bool) {
	if err := w.store.SetListening(ctx, p.queue, on); err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not change how the queue is woken", "queue", p.queue, "listening", on, "error", err)
		}
		return
	}
	mode.listening = on
}
