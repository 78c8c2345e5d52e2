package queue_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	queries "github.com/symphonymessenger/symphony/sql"
)

const emailPayload = `{"to":"a@example.com","from":"me@example.com","subject":"hi","text":"hello"}`

func setup(t *testing.T) (*pgxpool.Pool, context.Context) {
	t.Helper()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	mustExec(t, db.Pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	return db.Pool, ctx
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func dispatch(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	mustExec(t, pool, `insert into symphony.messages (kind, payload)
		select 'email.send', $1::jsonb from generate_series(1, $2)`, emailPayload, n)
}

func state(t *testing.T, pool *pgxpool.Pool, id int64) (st string, attempts int, lastError *string) {
	t.Helper()
	err := pool.QueryRow(context.Background(),
		`select state, attempts, last_error from symphony.messages where id = $1`, id).Scan(&st, &attempts, &lastError)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// Every runtime statement must match the migrated schema: preparing it checks
// every table, column and type it names.
func TestQueries_PrepareAgainstSchema(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	conn, err := db.Pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	all := queries.All()
	if len(all) < 8 {
		t.Fatalf("expected every statement in sql/, found %d", len(all))
	}
	for name, sql := range all {
		if _, err := conn.Conn().Prepare(context.Background(), name, sql); err != nil {
			t.Errorf("%s does not match the schema: %v", name, err)
		}
	}
}

func TestStore_ClaimCompleteCycle(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 3)
	s := queue.NewStore(pool, "w1")

	msgs, err := s.Claim(ctx, "email", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("claimed %d, want 3", len(msgs))
	}
	for _, m := range msgs {
		if m.Attempt != 1 || m.Kind != "email.send" || m.Queue != "email" || m.MaxAttempts != 5 {
			t.Fatalf("claimed message %+v", m)
		}
	}
	if again, _ := s.Claim(ctx, "email", 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed %d messages that were already leased", len(again))
	}
	written, err := s.Complete(ctx, []queue.Outcome{
		{ID: msgs[0].ID, Attempt: 1, State: queue.Succeeded, Result: json.RawMessage(`{"provider":"log"}`)},
		{ID: msgs[1].ID, Attempt: 1, State: queue.Dead, Error: "rejected", Code: "21211"},
		{ID: msgs[2].ID, Attempt: 1, State: queue.Retry, Error: "timeout", RetryIn: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 3 {
		t.Fatalf("wrote %d outcomes, want 3", len(written))
	}
	if st, _, _ := state(t, pool, msgs[0].ID); st != "succeeded" {
		t.Errorf("first: %s", st)
	}
	if st, _, e := state(t, pool, msgs[1].ID); st != "dead" || e == nil || *e != "rejected" {
		t.Errorf("second: %s %v", st, e)
	}
	var code string
	if err := pool.QueryRow(ctx, `select errors->0->>'code' from symphony.messages where id = $1`, msgs[1].ID).Scan(&code); err != nil || code != "21211" {
		t.Errorf("error history code = %q, %v", code, err)
	}
	if st, n, _ := state(t, pool, msgs[2].ID); st != "pending" || n != 1 {
		t.Errorf("third: %s attempts %d", st, n)
	}
	// The retry is not due for an hour, so nothing is claimable now.
	if again, _ := s.Claim(ctx, "email", 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed a message before its retry was due")
	}
}

func TestStore_ClaimSkipsLocked(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 400)
	seen := map[int64]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := queue.NewStore(pool, "w"+string(rune('a'+w)))
			for {
				msgs, err := s.Claim(ctx, "email", 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					if other, dup := seen[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, other, s.WorkerID())
					}
					seen[m.ID] = s.WorkerID()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 400 {
		t.Fatalf("claimed %d distinct messages, want 400", len(seen))
	}
}

func TestStore_ClaimNothingWhileMasterOff(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	mustExec(t, pool, `update symphony.flags set enabled = false where name = 'symphony'`)
	dispatch(t, pool, 2)
	s := queue.NewStore(pool, "w1")
	if msgs, err := s.Claim(ctx, "email", 10, time.Minute); err != nil || len(msgs) != 0 {
		t.Fatalf("claimed %d with the master switch off (err %v)", len(msgs), err)
	}
	mustExec(t, pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	if msgs, err := s.Claim(ctx, "email", 10, time.Minute); err != nil || len(msgs) != 2 {
		t.Fatalf("claimed %d after the master switch came on (err %v)", len(msgs), err)
	}
}

func TestStore_ClaimOrdersByPriorityThenAge(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	var low, high, older int64
	q := `select symphony.dispatch('email.send', $1::jsonb, $2::jsonb)`
	_ = pool.QueryRow(ctx, q, emailPayload, `{"priority": 0, "run_at": "2000-01-01T00:00:00Z"}`).Scan(&older)
	_ = pool.QueryRow(ctx, q, emailPayload, `{"priority": 0}`).Scan(&low)
	_ = pool.QueryRow(ctx, q, emailPayload, `{"priority": 10}`).Scan(&high)
	s := queue.NewStore(pool, "w1")
	var got []int64
	for range 3 {
		msgs, err := s.Claim(ctx, "email", 1, time.Minute)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("claim: %v %d", err, len(msgs))
		}
		got = append(got, msgs[0].ID)
	}
	if got[0] != high || got[1] != older || got[2] != low {
		t.Fatalf("claim order %v, want high %d, older %d, low %d", got, high, older, low)
	}
}

func TestStore_CompleteIgnoresLostLease(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 1)
	a := queue.NewStore(pool, "crashed")
	msgs, _ := a.Claim(ctx, "email", 1, 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	if n, err := a.RescueExpired(ctx); err != nil || n != 1 {
		t.Fatalf("rescued %d (err %v)", n, err)
	}
	b := queue.NewStore(pool, "alive")
	again, _ := b.Claim(ctx, "email", 1, time.Minute)
	if len(again) != 1 || again[0].Attempt != 2 {
		t.Fatalf("reclaim: %+v", again)
	}
	// The first worker wakes up late and reports: it must not overwrite attempt 2.
	written, err := a.Complete(ctx, []queue.Outcome{{ID: msgs[0].ID, Attempt: 1, State: queue.Succeeded}})
	if err != nil || len(written) != 0 {
		t.Fatalf("stale completion wrote %v (err %v)", written, err)
	}
	if st, _, _ := state(t, pool, msgs[0].ID); st != "processing" {
		t.Fatalf("state %s, want processing (attempt 2 still running)", st)
	}
}

func TestStore_RescueExpiredMarksPossibleSendAndDeadOnLastAttempt(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	var retryID, lastID int64
	_ = pool.QueryRow(ctx, `select symphony.dispatch('email.send', $1::jsonb, '{"max_attempts": 3}')`, emailPayload).Scan(&retryID)
	_ = pool.QueryRow(ctx, `select symphony.dispatch('email.send', $1::jsonb, '{"max_attempts": 1}')`, emailPayload).Scan(&lastID)
	s := queue.NewStore(pool, "w1")
	if msgs, _ := s.Claim(ctx, "email", 10, time.Millisecond); len(msgs) != 2 {
		t.Fatalf("claimed %d", len(msgs))
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := s.RescueExpired(ctx); err != nil || n != 2 {
		t.Fatalf("rescued %d (err %v)", n, err)
	}
	if st, _, e := state(t, pool, retryID); st != "pending" || e == nil {
		t.Errorf("retry message: %s %v", st, e)
	}
	st, _, e := state(t, pool, lastID)
	if st != "dead" || e == nil {
		t.Fatalf("last-attempt message: %s %v", st, e)
	}
	var code string
	_ = pool.QueryRow(ctx, `select errors->-1->>'code' from symphony.messages where id = $1`, lastID).Scan(&code)
	if code != "lease_expired" {
		t.Errorf("error code %q, want lease_expired", code)
	}
}

func TestStore_ExtendLeasesKeepsOwnLeasesOnly(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 2)
	a, b := queue.NewStore(pool, "a"), queue.NewStore(pool, "b")
	ma, _ := a.Claim(ctx, "email", 1, 50*time.Millisecond)
	mb, _ := b.Claim(ctx, "email", 1, 50*time.Millisecond)
	n, err := a.ExtendLeases(ctx, []int64{ma[0].ID, mb[0].ID}, time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("extended %d (err %v), want only a's own lease", n, err)
	}
	time.Sleep(80 * time.Millisecond)
	if n, _ := a.RescueExpired(ctx); n != 1 {
		t.Fatalf("rescued %d, want only b's expired lease", n)
	}
}

// An extension never waits for a row another statement holds (the worker's
// own completion, in the sidecar): waiting is how the two deadlocked over many
// rows taken in different orders, and a failed extension let every lease of
// the sidecar expire. The held row is skipped; the others are extended.
func TestStore_ExtendLeasesSkipsRowsLockedElsewhere(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dispatch(t, pool, 3)
	a := queue.NewStore(pool, "a")
	msgs, err := a.Claim(ctx, "email", 3, time.Minute)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("claimed %d (err %v)", len(msgs), err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `select 1 from symphony.messages where id = $1 for update`, msgs[1].ID); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := a.ExtendLeases(wctx, []int64{msgs[0].ID, msgs[1].ID, msgs[2].ID}, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("extended %d (err %v), want the 2 rows nobody else held", n, err)
	}
	var later int
	_ = pool.QueryRow(ctx, `select count(*) from symphony.messages where locked_until > now() + interval '30 minutes'`).Scan(&later)
	if later != 2 {
		t.Fatalf("%d leases extended by an hour, want 2", later)
	}
}

func TestStore_HeartbeatAndStats(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	s := queue.NewStore(pool, "w1")
	if err := s.Heartbeat(ctx, queue.WorkerInfo{Hostname: "h", Version: "v", Queues: map[string]int{"email": 2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, queue.WorkerInfo{Hostname: "h", Version: "v2", Queues: map[string]int{"email": 2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stopped(ctx); err != nil {
		t.Fatal(err)
	}
	var version string
	var stopped bool
	_ = pool.QueryRow(ctx, `select version, stopped_at is not null from symphony.workers where id = 'w1'`).Scan(&version, &stopped)
	if version != "v2" || !stopped {
		t.Fatalf("worker row: version %q stopped %v", version, stopped)
	}
	dispatch(t, pool, 3)
	mustExec(t, pool, `select symphony.dispatch('sms.send', '{"to":"+14155550100","body":"x"}', '{"delay": "1 hour"}')`)
	_, _ = s.Claim(ctx, "email", 1, time.Minute)
	stats, err := s.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]queue.Depth{}
	for _, q := range stats {
		got[q.Queue] = q
	}
	if e := got["email"]; e.Pending != 2 || e.Processing != 1 {
		t.Errorf("email stats %+v", e)
	}
	if sms := got["sms"]; sms.Scheduled != 1 || sms.Pending != 0 {
		t.Errorf("sms stats %+v", sms)
	}
}

// The rescue round knows nothing of campaigns: a campaign whose processing
// chain died is left to the campaigns' own periodic step
// (handler.StalledCampaigns).
func TestStore_RescueLeavesCampaignsAlone(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	var cid, chain int64
	err := pool.QueryRow(ctx, `with c as (
		insert into symphony.campaigns (name, "from", subject, "text") values ('stall', 'news@example.com', 'Hi', 'Hello')
		returning id)
		insert into symphony.campaign_recipients (campaign_id, email) select id, 'a@example.com' from c returning campaign_id`).Scan(&cid)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `select symphony.start_campaign($1)`, cid).Scan(&chain); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, `update symphony.messages set state = 'dead', last_error = 'boom', finished_at = now() where id = $1`, chain)
	if _, err := queue.NewStore(pool, "w1").RescueExpired(ctx); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := pool.QueryRow(ctx, `select status from symphony.campaigns where id = $1`, cid).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status == "paused" {
		t.Fatal("the rescue round paused a campaign")
	}
}

// Reading the queues' load (the sidecar's /status) does not grow with the
// finished messages kept.
func TestStore_StatsIgnoreHistory(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	mustExec(t, pool, `alter table symphony.messages disable trigger user`)
	mustExec(t, pool, `insert into symphony.messages (kind, queue, payload, state, attempts, max_attempts, finished_at)
		select 'email.send', 'email', '{}', 'succeeded', 1, 5, now() - g * interval '1 second' from generate_series(1, 100000) g`)
	mustExec(t, pool, `alter table symphony.messages enable trigger user`)
	dispatch(t, pool, 3)
	mustExec(t, pool, `vacuum analyze symphony.messages`)
	// The second reading on one connection: the first also plans the
	// functions it calls, reading the catalog.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var plan string
	for range 2 {
		if err := conn.QueryRow(ctx, `explain (analyze, buffers, format json) `+queries.QueueDepth, queue.PendingCap).Scan(&plan); err != nil {
			t.Fatal(err)
		}
	}
	var nodes []struct {
		Plan struct {
			SharedHit  int `json:"Shared Hit Blocks"`
			SharedRead int `json:"Shared Read Blocks"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(plan), &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	var pages int
	if err := pool.QueryRow(ctx, `select relpages from pg_class where oid = 'symphony.messages'::regclass`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	read := nodes[0].Plan.SharedHit + nodes[0].Plan.SharedRead
	t.Logf("queue stats over 3 pending and 100,000 finished: %d pages read, the table has %d", read, pages)
	if read > 100 || read*10 > pages {
		t.Fatalf("queue stats read %d pages of a %d-page table holding 3 unfinished messages", read, pages)
	}
	stats, err := queue.NewStore(pool, "w1").Depth(ctx)
	if err != nil || len(stats) != 1 || stats[0].Pending != 3 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
}

// A clean stop takes the worker's listener rows away through unlisten, so
// that once nobody listens dispatches stop reading the listeners at once
// (symphony.listening back to 0), not at the next tick. Deleting the rows
// directly left it at 1, and single-row dispatch ran at half its rate.
func TestStore_StoppedClearsListening(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	one, two := queue.NewStore(pool, "stop-one"), queue.NewStore(pool, "stop-two")
	for _, s := range []*queue.Store{one, two} {
		if err := s.Heartbeat(ctx, queue.WorkerInfo{Hostname: "h", Version: "v", Queues: map[string]int{"email": 2, "sms": 2}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"email", "sms"} {
		if err := one.SetListening(ctx, q, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := two.SetListening(ctx, "email", true); err != nil {
		t.Fatal(err)
	}
	state := func() (int, int64) { return listenState(t, pool) }
	if err := one.Stopped(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, listening := state(); rows != 1 || listening != 1 {
		t.Fatalf("after the first worker stopped: %d listener rows, listening %d; want 1 and 1", rows, listening)
	}
	if err := two.Stopped(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, listening := state(); rows != 0 || listening != 0 {
		t.Fatalf("after both stopped: %d listener rows, listening %d; want 0 and 0", rows, listening)
	}
}

// A sidecar killed while it listened leaves its listener rows; the next
// heartbeat of another sidecar drops them once it has stopped beating, and
// sets symphony.listening back to 0 when nobody is left, so that dispatches
// stop reading the listeners (a database without pg_cron has no tick to do
// it). It stayed at 1 until the next unlisten.
func TestStore_HeartbeatClearsListeningOfTheDead(t *testing.T) {
	t.Parallel()
	pool, ctx := setup(t)
	dead, alive := queue.NewStore(pool, "killed"), queue.NewStore(pool, "alive")
	info := queue.WorkerInfo{Hostname: "h", Version: "v", Queues: map[string]int{"email": 2}}
	for _, s := range []*queue.Store{dead, alive} {
		if err := s.Heartbeat(ctx, info); err != nil {
			t.Fatal(err)
		}
	}
	if err := dead.SetListening(ctx, "email", true); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `update symphony.workers set heartbeat_at = now() - interval '3 minutes' where id = 'killed'`); err != nil {
		t.Fatal(err)
	}
	state := func() (int, int64) { return listenState(t, pool) }
	if rows, listening := state(); rows != 1 || listening != 1 {
		t.Fatalf("before: %d listener rows, listening %d; want 1 and 1", rows, listening)
	}
	if err := alive.Heartbeat(ctx, info); err != nil {
		t.Fatal(err)
	}
	if rows, listening := state(); rows != 0 || listening != 0 {
		t.Fatalf("after the living sidecar's heartbeat: %d listener rows, listening %d; want 0 and 0", rows, listening)
	}
	// Its own rows stay, and so does the flag.
	if err := alive.SetListening(ctx, "email", true); err != nil {
		t.Fatal(err)
	}
	if err := alive.Heartbeat(ctx, info); err != nil {
		t.Fatal(err)
	}
	if rows, listening := state(); rows != 1 || listening != 1 {
		t.Fatalf("after a heartbeat with its own listener row: %d rows, listening %d; want 1 and 1", rows, listening)
	}
}

// listenState is how many listener rows there are, and symphony.listening.
func listenState(t *testing.T, pool *pgxpool.Pool) (rows int, listening int64) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `select (select count(*) from symphony.listeners),
		pg_sequence_last_value('symphony.listening'::regclass)`).Scan(&rows, &listening); err != nil {
		t.Fatal(err)
	}
	return rows, listening
}
