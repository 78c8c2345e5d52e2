package queue_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/queue"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Cancelled ends a message with who and why, and no error entry; Deferred puts
// it back without counting the attempt or recording anything.
func TestStore_CompleteCancelledAndDeferred(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 2)
	s := queue.NewStore(pool, "w1")
	msgs, err := s.Claim(ctx, "email", 10, time.Minute)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("claimed %d, %v", len(msgs), err)
	}
	written, err := s.Complete(ctx, []queue.Outcome{
		{ID: msgs[0].ID, Attempt: 1, State: queue.Cancelled, Code: "suppression", Error: "suppressed: a@example.com (bounced)",
			Result: json.RawMessage(`{"suppressed": [{"address": "a@example.com", "reason": "bounced"}]}`)},
		{ID: msgs[1].ID, Attempt: 1, State: queue.Deferred, RetryIn: time.Hour, Error: "quiet hours"},
	})
	if err != nil || len(written) != 2 {
		t.Fatalf("wrote %v, %v", written, err)
	}
	var st, by, lastError string
	var attempts, errs int
	var finished bool
	err = pool.QueryRow(ctx, `select state, cancelled_by, last_error, attempts, jsonb_array_length(errors), finished_at is not null
		from symphony.messages where id = $1`, msgs[0].ID).Scan(&st, &by, &lastError, &attempts, &errs, &finished)
	if err != nil || st != "cancelled" || by != "suppression" || lastError != "suppressed: a@example.com (bounced)" || errs != 0 || !finished {
		t.Fatalf("cancelled: %s by %s, %q, %d error entries, finished %v, %v", st, by, lastError, errs, finished, err)
	}
	var due time.Duration
	var last *string
	err = pool.QueryRow(ctx, `select state, attempts, jsonb_array_length(errors), last_error,
		extract(epoch from available_at - now())::bigint * 1000000000 from symphony.messages where id = $1`, msgs[1].ID).
		Scan(&st, &attempts, &errs, &last, &due)
	if err != nil || st != "pending" || attempts != 0 || errs != 0 || last != nil || due < 59*time.Minute || due > time.Hour {
		t.Fatalf("deferred: %s, attempts %d, %d error entries, last_error %v, due in %s, %v", st, attempts, errs, last, due, err)
	}
	// A deferral spends no attempt: claimed again, it is attempt 1 again.
	if _, err := pool.Exec(ctx, `update symphony.messages set available_at = now() where id = $1`, msgs[1].ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.Claim(ctx, "email", 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].Attempt != 1 {
		t.Fatalf("reclaimed %+v, %v", again, err)
	}
}

// A batch of plain successes goes through complete_succeeded.sql; the rows it
// leaves are exactly those complete.sql leaves for the same outcomes, stale
// outcomes (a lease lost to a rescue) skipped alike.
func TestStore_CompleteSucceededMatchesComplete(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 40)
	// Some messages arrive with a result and history of earlier attempts.
	if _, err := pool.Exec(ctx, `update symphony.messages set last_error = 'earlier: timeout',
		errors = '[{"attempt": 0, "error": "earlier: timeout"}]' where id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	s := queue.NewStore(pool, "w1")
	msgs, err := s.Claim(ctx, "email", 100, time.Minute)
	if err != nil || len(msgs) != 40 {
		t.Fatalf("claimed %d, %v", len(msgs), err)
	}
	var fast, general []queue.Outcome
	for i, m := range msgs {
		o := queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Succeeded}
		switch i / 2 % 4 {
		case 0:
			o.Result = json.RawMessage(`{"provider": "log", "provider_message_id": "log-1", "note": "ünïcode ✓"}`)
		case 1:
			// no result
		case 2:
			o.Result = json.RawMessage(`{"provider": "resend", "provider_message_id": "re_1"}`)
		default:
			o.Attempt++ // stale: the message was claimed again meanwhile
		}
		if i%2 == 0 {
			fast = append(fast, o)
		} else {
			general = append(general, o)
		}
	}
	wroteFast, err := s.Complete(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	// The general statement, as Complete runs it for a batch that is not all
	// plain successes.
	var ids []int64
	var attempts []int32
	var states []string
	var results, nulls []*string
	var retry []int64
	var maybe []bool
	for _, o := range general {
		ids, attempts, states = append(ids, o.ID), append(attempts, int32(o.Attempt)), append(states, "succeeded")
		var r *string
		if o.Result != nil {
			v := string(o.Result)
			r = &v
		}
		results, nulls, retry, maybe = append(results, r), append(nulls, nil), append(retry, 0), append(maybe, false)
	}
	rows, err := pool.Query(ctx, queries.Complete, ids, attempts, states, results, nulls, nulls, retry, "w1", maybe)
	if err != nil {
		t.Fatal(err)
	}
	wroteGeneral, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if len(wroteFast) != 15 || len(wroteGeneral) != 15 {
		t.Fatalf("wrote %d and %d of 20 each (5 stale); want 15 and 15", len(wroteFast), len(wroteGeneral))
	}
	row := func(id int64) string {
		var v string
		err := pool.QueryRow(ctx, `select jsonb_build_object('state', state, 'attempts', attempts, 'result', result,
			'last_error', last_error, 'errors', errors, 'cancelled_by', cancelled_by, 'locked_by', locked_by,
			'locked_until', locked_until, 'finished', finished_at is not null,
			'available_at_kept', available_at = created_at)::text
			from symphony.messages where id = $1`, id).Scan(&v)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i := range fast {
		a, b := row(fast[i].ID), row(general[i].ID)
		// Pairs differ only where their messages did: id % 3 history.
		if (fast[i].ID%3 == 0) == (general[i].ID%3 == 0) && a != b {
			t.Errorf("outcome %+v\n  complete_succeeded.sql: %s\n  complete.sql:           %s", fast[i], a, b)
		}
	}
}
