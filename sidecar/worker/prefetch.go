package worker

import (
	"context"
	"slices"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// hold records claimed messages as this sidecar's until their outcome is
// written (or they are released): their leases are extended meanwhile.
func (w *Worker) hold(msgs []msgtype.Message) {
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
func (w *Worker) release(ctx context.Context, p *producer, waiting []*msgtype.Message) {
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

// prepareMin is the smallest claim handed to Preparers. Preparing costs the
// producer a statement before it hands the claim out; for a few messages
// that is a wait for nothing (their own checks, made in their slots side by
// side, gather into one statement just as well) and it slowed a queue of
// few slots fed a stream of single messages.
const prepareMin = 32

// prepare hands each kind's share of a fresh claim of at least prepareMin
// messages to its handler, if the handler is a Preparer, and keeps the jobs
// it returns in p.jobs until units hands them to the units that run the
// messages. A failure is logged and costs only the batching: a message
// without a job is handled by its handler's Handle.
func (w *Worker) prepare(ctx context.Context, p *producer, msgs []msgtype.Message) {
	if len(msgs) < prepareMin {
		return
	}
	var done []string // kinds already handed over: a claim holds one or a few
	for i := range msgs {
		kind := msgs[i].Kind
		if slices.Contains(done, kind) {
			continue
		}
		done = append(done, kind)
		h, ok := w.handlers.Route(kind)
		if !ok {
			continue
		}
		pr, ok := h.(msgtype.Preparer)
		if !ok {
			continue
		}
		share := p.prepBuf[:0]
		for j := i; j < len(msgs); j++ {
			if msgs[j].Kind == kind {
				share = append(share, &msgs[j])
			}
		}
		jobs := slices.Grow(p.jobBuf[:0], len(share))[:len(share)]
		err := pr.Prepare(ctx, share, jobs)
		for j, job := range jobs {
			if job != nil {
				if p.jobs == nil {
					p.jobs = make(map[*msgtype.Message]msgtype.Job, len(msgs))
				}
				p.jobs[share[j]] = job
			}
		}
		clear(jobs)
		p.jobBuf = jobs[:0]
		if err != nil && ctx.Err() == nil {
			w.log.Warn("could not prepare claimed messages together; each is prepared on its own",
				"queue", p.queue, "kind", kind, "messages", len(share), "error", err)
		}
		clear(share) // the buffer outlives the claim: let go of its messages
		p.prepBuf = share[:0]
	}
}
