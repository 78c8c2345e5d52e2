package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
)

func queryInt(t *testing.T, db *pgtest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// An address suppressed after its message was dispatched is never contacted:
// the message ends cancelled by "suppression", with the reason.
func TestMain_SuppressionAfterDispatchCancels(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(nil)
	start(t, testConfig(db), fake, fake)
	email := dispatchID(t, db.Pool, "email.send", emailPayload, `{"delay": "0.5"}`)
	sms := dispatchID(t, db.Pool, "sms.send", `{"to": "+14155550100", "body": "hi"}`, `{"delay": "0.5"}`)
	exec(t, db.Pool, `select symphony.suppress('email', 'A@example.com', 'unsubscribed', 'test')`)
	exec(t, db.Pool, `select symphony.suppress('sms', '+14155550100', 'stop', 'test')`)
	waitFor(t, 5*time.Second, "both to be cancelled", func() bool { return countState(t, db.Pool, "cancelled") == 2 })
	for _, id := range []int64{email, sms} {
		var by, reason string
		var attempts int
		if err := db.Pool.QueryRow(context.Background(), `select cancelled_by, last_error, jsonb_array_length(errors) from symphony.messages where id = $1`, id).
			Scan(&by, &reason, &attempts); err != nil {
			t.Fatal(err)
		}
		if by != "suppression" || reason == "" || attempts != 0 || fake.callsFor(id) != 0 {
			t.Errorf("message %d: cancelled_by %q, reason %q, %d error entries, %d provider calls", id, by, reason, attempts, fake.callsFor(id))
		}
	}
}

// Outside its quiet hours an SMS waits for the window: pending, due when the
// window opens, and no attempt spent or error recorded.
func TestMain_QuietHoursDeferWithoutSpendingAnAttempt(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(nil)
	start(t, testConfig(db), fake, fake)
	now := time.Now().UTC()
	from, until := now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04")
	id := dispatchID(t, db.Pool, "sms.send", `{"to": "+14155550100", "body": "hi"}`,
		`{"meta": {"quiet_hours": {"time_zone": "UTC", "from": "`+from+`", "until": "`+until+`"}}}`)
	waitFor(t, 5*time.Second, "the SMS to be claimed and deferred", func() bool {
		return queryInt(t, db, `select count(*) from symphony.messages where id = $1 and state = 'pending'
			and attempted_at is not null and available_at > now() + interval '1 hour'`, id) == 1
	})
	var attempts, errs int
	var wait float64
	if err := db.Pool.QueryRow(context.Background(), `select attempts, jsonb_array_length(errors),
		extract(epoch from available_at - now()) from symphony.messages where id = $1`, id).Scan(&attempts, &errs, &wait); err != nil {
		t.Fatal(err)
	}
	if attempts != 0 || errs != 0 || wait < 7000 || wait > 7200 || fake.callsFor(id) != 0 {
		t.Fatalf("attempts %d, error entries %d, due in %.0fs, provider calls %d; want 0, 0, about 2h, 0", attempts, errs, wait, fake.callsFor(id))
	}
}

// A drip runs through the sidecar: each step a delay after the one before,
// each once, and the enrollment completes.
func TestMain_DripStepsSendInOrder(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.Queues = map[string]int{"sms": 4, "drip": 2}
	fake := newFake(nil)
	start(t, cfg, fake, fake)
	exec(t, db.Pool, `insert into symphony.drips (name, quiet_hours) values ('welcome', false)`)
	exec(t, db.Pool, `insert into symphony.drip_steps (drip_id, position, delay, body)
		select id, p, d::interval, b from symphony.drips, (values (0, '0', 'one'), (1, '1 second', 'two {{name}}')) s(p, d, b)`)
	exec(t, db.Pool, `insert into symphony.drip_enrollments (drip_id, phone, data) select id, '+14155550100', '{"name": "Ada"}' from symphony.drips`)
	waitFor(t, 10*time.Second, "the enrollment to complete and its SMS to be sent", func() bool {
		return queryInt(t, db, `select count(*) from symphony.drip_enrollments where status = 'completed'`) == 1 &&
			queryInt(t, db, `select count(*) from symphony.messages where kind = 'sms.send' and state = 'succeeded'`) == 2
	})
	// Step 1 is due its delay after step 0's SMS was dispatched: the
	// transaction that dispatched it set the enrollment's next_at, which the
	// step's result reports. The SMS of step 1 must not be dispatched before
	// then. (Their completions can be closer than the delay: the first one's
	// write-back may come late, batched with others.)
	var sent0, nextAt, sent1 time.Time
	if err := db.Pool.QueryRow(context.Background(), `select
		(select created_at from symphony.messages where kind = 'sms.send' and dedupe_key like 'drip:%:0:sms'),
		(select (result->>'next_at')::timestamptz from symphony.messages where kind = 'drip.step' and payload->>'step' = '0'),
		(select created_at from symphony.messages where kind = 'sms.send' and dedupe_key like 'drip:%:1:sms')`).
		Scan(&sent0, &nextAt, &sent1); err != nil {
		t.Fatal(err)
	}
	if delay := nextAt.Sub(sent0); delay < 900*time.Millisecond || delay > time.Second {
		t.Errorf("step 1 due %s after step 0's SMS was dispatched; want its 1s delay", delay)
	}
	if sent1.Before(nextAt) || fake.total.Load() != 2 {
		t.Fatalf("step 1's SMS dispatched %s after it was due (want ≥ 0), %d provider calls (want 2)", sent1.Sub(nextAt), fake.total.Load())
	}
}

// Two sidecars firing the same schedules: every due time fires once. runs
// counts dispatches, so a due time fired twice would show as runs above the
// number of messages (the dedupe key would return the first message).
func TestMain_SchedulesFireOncePerDueTimeWithTwoSidecars(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.SchedulerInterval = 20 * time.Millisecond
	fake := newFake(nil)
	start(t, cfg, fake, fake)
	cfg.WorkerID = "second"
	start(t, cfg, fake, fake)
	exec(t, db.Pool, `insert into symphony.schedules (name, kind, payload, every)
		values ('ping', 'sms.send', '{"to": "+14155550100", "body": "ping"}', '1 second'),
		       ('pong', 'sms.send', '{"to": "+14155550101", "body": "pong"}', '1 second')`)
	time.Sleep(3500 * time.Millisecond)
	exec(t, db.Pool, `update symphony.schedules set enabled = false`)
	waitFor(t, 5*time.Second, "every fired message to be sent", func() bool {
		return countState(t, db.Pool, "pending")+countState(t, db.Pool, "processing") == 0
	})
	runs := queryInt(t, db, `select sum(runs)::int from symphony.schedules`)
	msgs := queryInt(t, db, `select count(*) from symphony.messages where meta ? 'schedule'`)
	due := queryInt(t, db, `select count(distinct (meta ->> 'schedule', meta ->> 'due_at')) from symphony.messages where meta ? 'schedule'`)
	if msgs < 4 || runs != msgs || due != msgs || int(fake.total.Load()) != msgs {
		t.Fatalf("runs %d, messages %d, distinct due times %d, provider calls %d; want them equal and at least 4",
			runs, msgs, due, fake.total.Load())
	}
}

// Pausing holds the campaign's queued emails; resuming sends the rest, each
// recipient once.
func TestMain_CampaignPauseAndResume(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.Queues = map[string]int{"email": 2, "campaign": 1}
	fake := newFake(nil)
	fake.delay = 10 * time.Millisecond
	start(t, cfg, fake, fake)
	const n = 300
	exec(t, db.Pool, `insert into symphony.campaigns (name, "from", subject, "text", batch_size) values ('c', 'news@example.com', 'Hi {{name}}', 'Hello', 100)`)
	exec(t, db.Pool, `insert into symphony.campaign_recipients (campaign_id, email, data)
		select c.id, format('r%s@example.com', i), jsonb_build_object('name', 'R' || i) from symphony.campaigns c, generate_series(1, $1) i`, n)
	exec(t, db.Pool, `select symphony.start_campaign(id) from symphony.campaigns`)
	waitFor(t, 10*time.Second, "sending to start", func() bool { return fake.total.Load() >= 20 })
	exec(t, db.Pool, `select symphony.pause_campaign(id) from symphony.campaigns`)
	time.Sleep(300 * time.Millisecond) // what was in flight at the pause finishes
	held := fake.total.Load()
	time.Sleep(700 * time.Millisecond)
	if now := fake.total.Load(); now != held || now >= n {
		t.Fatalf("sent %d, then %d while paused (of %d)", held, now, n)
	}
	exec(t, db.Pool, `select symphony.resume_campaign(id) from symphony.campaigns`)
	waitFor(t, 30*time.Second, "the campaign to complete and every email to be sent", func() bool {
		return queryInt(t, db, `select count(*) from symphony.campaigns where status = 'completed'`) == 1 &&
			queryInt(t, db, `select count(*) from symphony.messages where kind = 'email.send' and state = 'succeeded'`) == n
	})
	if fake.total.Load() != n || fake.distinct() != n {
		t.Fatalf("%d provider calls for %d distinct messages; want %d each", fake.total.Load(), fake.distinct(), n)
	}
}

// A running sidecar pauses a campaign whose campaign.process chain died: the
// campaigns' periodic step is wired into its worker and runs at start.
func TestMain_PausesStalledCampaigns(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cid := queryInt(t, db, `with c as (
		insert into symphony.campaigns (name, "from", subject, "text") values ('stall', 'news@example.com', 'Hi', 'Hello')
		returning id)
		insert into symphony.campaign_recipients (campaign_id, email) select id, 'a@example.com' from c returning campaign_id`)
	chain := queryInt(t, db, `select symphony.start_campaign($1)`, cid)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', last_error = 'boom', finished_at = now() where id = $1`, chain)
	fake := newFake(nil)
	start(t, testConfig(db), fake, fake)
	waitFor(t, 5*time.Second, "the stalled campaign to be paused", func() bool {
		return queryInt(t, db, `select count(*) from symphony.campaigns where id = $1 and status = 'paused'
			and paused_reason like '%is dead: boom%'`, cid) == 1
	})
}
