package worker

import (
	"context"
	"slices"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// unit is what a slot runs at a time: one message, or a batch of them that
// go out in one provider request.
type unit struct {
	m     *msgtype.Message
	job   msgtype.Job // what m's handler prepared for it at the claim, if anything
	batch *batchCall
}

// size is how many messages u carries.
func (u unit) size() int {
	if u.batch != nil {
		return len(u.batch.Msgs)
	}
	return 1
}

// batchKey says whether m may go out in a new batch request, with which
// others, and how many one request takes. Only bulk mail (priority below
// 0: campaigns, and what the app dispatches as bulk) is batched: a
// transactional message goes single and at once. A message an earlier
// attempt may have reached the provider with goes single too: its own key
// then dedupes the retry where the provider honours keys.
func (w *Worker) batchKey(m *msgtype.Message) (key string, max int, ok bool) {
	if m.Priority >= 0 || m.MaybeSentBefore {
		return "", 0, false
	}
	h, found := w.handlers.Route(m.Kind)
	if !found {
		return "", 0, false
	}
	bh, can := h.(msgtype.BatchHandler)
	if !can {
		return "", 0, false
	}
	key, max, ok = bh.BatchKey(m)
	if !ok || max < 2 {
		return "", 0, false
	}
	return m.Kind + "\x00" + key, max, true
}

// openBatch is a batch being filled while a claim is planned.
type openBatch struct {
	key  string
	max  int
	unit int // index of its unit
	msgs []*msgtype.Message
}

// plan groups msgs, in claim order, into at most budget units (appended to
// units when it is not nil) and returns how many of msgs, from the first,
// they hold and how many units that is. Greedy: a message that may be
// batched joins the open batch of its key until that is full. A batch of
// one stays a single.
func (w *Worker) plan(msgs []*msgtype.Message, budget int, units *[]unit) (keep, n int) {
	var open []*openBatch
	base := 0
	if units != nil {
		base = len(*units)
	}
	keep = len(msgs)
	for i, m := range msgs {
		key, max, ok := w.batchKey(m)
		j := -1
		if ok {
			j = slices.IndexFunc(open, func(o *openBatch) bool { return o.key == key })
			if j >= 0 && len(open[j].msgs) < open[j].max {
				open[j].msgs = append(open[j].msgs, m)
				continue
			}
		}
		if n == budget {
			keep = i
			break
		}
		n++
		if units != nil {
			*units = append(*units, unit{m: m})
		}
		if ok {
			o := &openBatch{key: key, max: max, unit: base + n - 1, msgs: []*msgtype.Message{m}}
			if j >= 0 {
				w.fill(units, open[j])
				open[j] = o
			} else {
				open = append(open, o)
			}
		}
	}
	for _, o := range open {
		w.fill(units, o)
	}
	return keep, n
}

// fill turns an open batch of more than one message into its batch unit.
func (w *Worker) fill(units *[]unit, o *openBatch) {
	if units == nil || len(o.msgs) < 2 {
		return
	}
	(*units)[o.unit] = unit{batch: &batchCall{Queue: o.msgs[0].Queue, Msgs: o.msgs, w: w, max: o.max}}
}

// fit is plan as a queue.Fit, for a claim: how many of a claim's messages
// go out in budget requests, and in how many.
func (w *Worker) fit(msgs []msgtype.Message, budget int) (keep, requests int) {
	return w.plan(pointers(msgs), budget, nil)
}

// units turns a fresh claim (and the members of unfinished batches it
// gathers) into the units its slots run. Unfinished batches come first:
// their members were claimed before.
func (w *Worker) units(ctx context.Context, p *producer, msgs []msgtype.Message) []unit {
	ptrs := pointers(msgs)
	var out []unit
	ptrs, out = w.repeats(ctx, p, ptrs, out)
	w.plan(ptrs, len(ptrs), &out)
	w.attachJobs(p, out)
	return out
}

// attachJobs hands each unit the jobs prepare left for its messages, and
// empties p.jobs: a job lives as long as its unit, so what it holds (a
// decoded payload, attachments once fetched) goes with the attempt.
func (w *Worker) attachJobs(p *producer, units []unit) {
	if len(p.jobs) == 0 {
		return
	}
	for i := range units {
		u := &units[i]
		if u.batch == nil {
			u.job = p.jobs[u.m]
			continue
		}
		for j, m := range u.batch.Msgs {
			if job := p.jobs[m]; job != nil {
				if u.batch.Jobs == nil {
					u.batch.Jobs = make([]msgtype.Job, len(u.batch.Msgs))
				}
				u.batch.Jobs[j] = job
			}
		}
	}
	clear(p.jobs)
}

// repeats finds the unfinished batches of the claim's retried messages. A
// batch whose every member this sidecar now holds (claiming the due ones
// that the claim missed) becomes a unit that repeats it; one it cannot
// gather is abandoned, its members flagged. It returns the messages left
// for new units.
func (w *Worker) repeats(ctx context.Context, p *producer, msgs []*msgtype.Message, out []unit) ([]*msgtype.Message, []unit) {
	var retried []int64
	for _, m := range msgs {
		if m.Attempt > 1 && w.batching(m.Kind) {
			retried = append(retried, m.ID)
		}
	}
	if len(retried) == 0 {
		return msgs, out
	}
	batches, err := w.store.UnfinishedBatches(ctx, retried)
	if err != nil {
		// Sending them anew risks a second copy: say so if it happens.
		w.log.Warn("could not look up the unfinished batches of retried messages; they are sent anew, flagged as possible duplicates",
			"queue", p.queue, "messages", len(retried), "error", err)
		for _, m := range msgs {
			if m.Attempt > 1 && w.batching(m.Kind) {
				m.DuplicateRisk = true
			}
		}
		return msgs, out
	}
	byID := make(map[int64]*msgtype.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	taken := map[int64]bool{}
	for i := range batches {
		b := &batches[i]
		if b.Abandoned {
			// Its members go out under other keys: flag them if it may
			// have been accepted.
			for _, id := range b.MessageIDs {
				if m, ok := byID[id]; ok && b.Called {
					m.DuplicateRisk = true
				}
			}
			continue
		}
		var missing []int64
		here := 0
		for _, id := range b.MessageIDs {
			if taken[id] {
				missing = nil
				here = -1 // in an earlier batch of this claim: leave this one be
				break
			}
			if _, ok := byID[id]; ok {
				here++
			} else {
				missing = append(missing, id)
			}
		}
		if here <= 0 {
			continue
		}
		var extra []msgtype.Message
		if len(missing) > 0 {
			if extra, err = w.store.ClaimIDs(ctx, p.queue, missing, w.cfg.Lease); err != nil {
				w.log.Warn("could not claim the other members of an unfinished batch", "batch", b.ID, "error", err)
				extra = nil
			}
			w.hold(extra)
		}
		if len(extra) == len(missing) {
			for j := range extra {
				byID[extra[j].ID] = &extra[j]
			}
			members := make([]*msgtype.Message, len(b.MessageIDs))
			for j, id := range b.MessageIDs {
				members[j] = byID[id]
				taken[id] = true
			}
			w.prepare(ctx, p, extra)
			w.claimedN(p, len(extra))
			w.running.Add(len(extra))
			out = append(out, unit{batch: &batchCall{Queue: p.queue, Msgs: members, Repeat: b, w: w, max: len(members)}})
			continue
		}
		// Not every member can be had (another sidecar holds one, or it is
		// not due, or finished): the request cannot be repeated as it was.
		if len(extra) > 0 {
			w.release(ctx, p, pointers(extra))
		}
		if _, err := w.store.FinishBatch(ctx, b.ID, queue.BatchAbandoned); err != nil {
			w.log.Warn("could not record an abandoned batch", "batch", b.ID, "error", err)
		}
		w.log.Info("abandoned an unfinished batch that could not be gathered; its members go out anew",
			"queue", p.queue, "batch", b.ID, "members", len(b.MessageIDs), "missing", len(missing)-len(extra))
		for _, id := range b.MessageIDs {
			if m, ok := byID[id]; ok && b.Called {
				m.DuplicateRisk = true
			}
		}
	}
	if len(taken) == 0 {
		return msgs, out
	}
	rest := msgs[:0:0]
	for _, m := range msgs {
		if !taken[m.ID] {
			rest = append(rest, m)
		}
	}
	return rest, out
}

// batching reports whether kind's handler sends batches.
func (w *Worker) batching(kind string) bool {
	h, ok := w.handlers.Route(kind)
	if !ok {
		return false
	}
	_, ok = h.(msgtype.BatchHandler)
	return ok
}
