package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// The README's promise: INSERT a row, see the captured email within a second,
// and the row is succeeded.
func TestMain_DispatchedEmailIsCapturedAndSucceeds(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	sc := start(t, testConfig(db), nil, nil)
	exec(t, db.Pool, `INSERT INTO symphony.messages (kind, payload) VALUES ('email.send', $1)`, emailPayload)
	waitFor(t, 5*time.Second, "the row to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 1 })

	var result struct {
		Provider  string `json:"provider"`
		MessageID string `json:"provider_message_id"`
	}
	if err := db.Pool.QueryRow(context.Background(), `select result from symphony.messages`).Scan(&result); err != nil {
		t.Fatal(err)
	}
	if result.Provider != "log" || result.MessageID != "log-1" {
		t.Fatalf("result %+v", result)
	}
	entries := sc.Outbox().Entries()
	if len(entries) != 1 || entries[0].Email == nil || entries[0].Email.Subject != "hi" || entries[0].Email.Text != "hello" {
		t.Fatalf("outbox %+v", entries)
	}
	resp, body := sc.get(t, "/outbox")
	if resp.StatusCode != 200 || !strings.Contains(body, "a@example.com") || !strings.Contains(body, "hello") {
		t.Fatalf("/outbox %d: %.300s", resp.StatusCode, body)
	}
	resp, body = sc.get(t, "/outbox.json")
	if resp.StatusCode != 200 || !strings.Contains(body, `"subject":"hi"`) {
		t.Fatalf("/outbox.json %d: %.300s", resp.StatusCode, body)
	}
}

func TestMain_SMSIsCaptured(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	sc := start(t, testConfig(db), nil, nil)
	exec(t, db.Pool, `select symphony.send_sms('+14155550100', 'your code is 1234')`)
	waitFor(t, 2*time.Second, "the sms to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
	e := sc.Outbox().Entries()
	if len(e) != 1 || e[0].SMS == nil || e[0].SMS.Body != "your code is 1234" {
		t.Fatalf("outbox %+v", e)
	}
}

func TestMain_TransientFailureRetriedThenSucceeds(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(func(call int, _ provider.Send) error {
		if call <= 2 {
			return &provider.Error{Provider: "fake", StatusCode: 503, Message: "try later"}
		}
		return nil
	})
	start(t, testConfig(db), fake, fake)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 5*time.Second, "success after retries", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
	var attempts, errs int
	_ = db.Pool.QueryRow(context.Background(), `select attempts, jsonb_array_length(errors) from symphony.messages where id = $1`, id).Scan(&attempts, &errs)
	if attempts != 3 || errs != 2 || fake.callsFor(id) != 3 {
		t.Fatalf("attempts %d, error entries %d, provider calls %d; want 3, 2, 3", attempts, errs, fake.callsFor(id))
	}
}

func TestMain_DeadAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(func(int, provider.Send) error { return errors.New("connection reset by peer") })
	start(t, testConfig(db), fake, fake)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{"max_attempts": 3}`)
	waitFor(t, 5*time.Second, "the message to die", func() bool { return countState(t, db.Pool, "dead") == 1 })
	var attempts int
	var lastError string
	_ = db.Pool.QueryRow(context.Background(), `select attempts, last_error from symphony.messages where id = $1`, id).Scan(&attempts, &lastError)
	if attempts != 3 || fake.callsFor(id) != 3 || !strings.Contains(lastError, "gave up after 3 attempts") || !strings.Contains(lastError, "connection reset") {
		t.Fatalf("attempts %d calls %d last_error %q", attempts, fake.callsFor(id), lastError)
	}
}

func TestMain_PermanentFailureIsDeadAtOnceWithCode(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(func(_ int, s provider.Send) error {
		return &provider.Error{Provider: "twilio", Permanent: true, StatusCode: 400, Code: "21211", Message: "The 'To' number is not a valid phone number."}
	})
	start(t, testConfig(db), fake, fake)
	id := dispatchID(t, db.Pool, "sms.send", `{"to":"+14155550100","body":"x"}`, `{}`)
	waitFor(t, 3*time.Second, "the message to die", func() bool { return countState(t, db.Pool, "dead") == 1 })
	var attempts int
	var lastError, code string
	_ = db.Pool.QueryRow(context.Background(), `select attempts, last_error, errors->0->>'code' from symphony.messages where id = $1`, id).Scan(&attempts, &lastError, &code)
	if attempts != 1 || code != "21211" || !strings.Contains(lastError, "not a valid phone number") {
		t.Fatalf("attempts %d code %q last_error %q", attempts, code, lastError)
	}
}

// A message without a handler here dies with the reason; the queue keeps flowing.
func TestMain_UnhandledKindDiesWithoutBlockingOthers(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `select symphony.register_kind('report.build', 'default')`)
	start(t, testConfig(db), nil, nil)
	bad := dispatchID(t, db.Pool, "report.build", `{"report": 1}`, `{}`)
	for range 20 {
		dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	}
	waitFor(t, 3*time.Second, "all to finish", func() bool {
		return countState(t, db.Pool, "succeeded") == 20 && countState(t, db.Pool, "dead") == 1
	})
	var lastError string
	_ = db.Pool.QueryRow(context.Background(), `select last_error from symphony.messages where id = $1`, bad).Scan(&lastError)
	if !strings.Contains(lastError, `no handler for kind "report.build"`) {
		t.Fatalf("last_error %q", lastError)
	}
}

// A sidecar that dies mid-message leaves a lease; once it expires another
// sidecar rescues the message and sends it, and the history says what happened.
func TestMain_LeaseRescuedAfterCrash(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	// What a crashed sidecar leaves behind: claimed, attempt 1, lease expired.
	exec(t, db.Pool, `update symphony.messages set state = 'processing', attempts = 1, locked_by = 'crashed',
		locked_until = now() - interval '1 second', attempted_at = now() where id = $1`, id)
	fake := newFake(nil)
	start(t, testConfig(db), fake, fake)
	waitFor(t, 5*time.Second, "the rescued message to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
	var attempts int
	var code string
	_ = db.Pool.QueryRow(context.Background(), `select attempts, errors->0->>'code' from symphony.messages where id = $1`, id).Scan(&attempts, &code)
	if attempts != 2 || code != "lease_expired" || fake.callsFor(id) != 1 {
		t.Fatalf("attempts %d code %q calls %d", attempts, code, fake.callsFor(id))
	}
}

func TestMain_TwoSidecarsNeverHandleOneMessageAtOnce(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(nil)
	fake.delay = 2 * time.Millisecond
	cfg := testConfig(db)
	a := start(t, cfg, fake, fake)
	cfg.WorkerID = "second"
	b := start(t, cfg, fake, fake)
	const n = 600
	exec(t, db.Pool, `insert into symphony.messages (kind, payload) select 'email.send', $1::jsonb from generate_series(1, $2)`, emailPayload, n)
	waitFor(t, 20*time.Second, "all messages to succeed", func() bool { return countState(t, db.Pool, "succeeded") == n })
	if fake.overlap.Load() != 0 || fake.total.Load() != n || fake.distinct() != n {
		t.Fatalf("overlaps %d, calls %d, distinct %d; want 0, %d, %d", fake.overlap.Load(), fake.total.Load(), fake.distinct(), n, n)
	}
	// Each message was claimed once, by one of them. (Not that both claimed:
	// on a busy machine one sidecar can drain the 600 before the other's
	// first claim, and then has no series for the queue at all.)
	var claimed float64
	for _, sc := range []*sidecar{a, b} {
		_, page := sc.get(t, "/metrics")
		v, _ := metricValue(t, page, "symphony_messages_claimed_total", `{queue="email"}`)
		claimed += v
	}
	if claimed != n {
		t.Fatalf("the sidecars claimed %.0f messages between them, want %d", claimed, n)
	}
}

// With the fallback poll an hour away, only NOTIFY can wake the sidecar.
func TestMain_NotifyWakesIdleSidecarInMilliseconds(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.PollInterval = time.Hour
	fake := newFake(nil)
	start(t, cfg, fake, fake)
	time.Sleep(300 * time.Millisecond) // let the first claims find nothing and go idle
	var lat []time.Duration
	for range 20 {
		before := fake.total.Load()
		t0 := time.Now()
		exec(t, db.Pool, `INSERT INTO symphony.messages (kind, payload) VALUES ('email.send', $1)`, emailPayload)
		waitFor(t, 2*time.Second, "the provider call", func() bool { return fake.total.Load() > before })
		lat = append(lat, time.Since(t0))
		time.Sleep(20 * time.Millisecond)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("wake latency from INSERT commit to provider call over 20 dispatches: p50 %s, max %s", lat[10], lat[19])
	if lat[10] > 250*time.Millisecond {
		t.Fatalf("median wake latency %s: the sidecar is not being woken by NOTIFY", lat[10])
	}
}

// Delayed messages are not notified; the poll finds them when due.
func TestMain_DelayedMessageRunsWhenDue(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(nil)
	start(t, testConfig(db), fake, fake)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{"delay": "0.7"}`)
	time.Sleep(300 * time.Millisecond)
	if fake.callsFor(id) != 0 {
		t.Fatal("sent before it was due")
	}
	waitFor(t, 3*time.Second, "the delayed message", func() bool { return fake.callsFor(id) == 1 })
}

// Master switch off: nothing is claimed. On: the flag NOTIFY wakes the sidecar.
func TestMain_MasterSwitchPausesAndResumes(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `update symphony.flags set enabled = false where name = 'symphony'`)
	cfg := testConfig(db)
	cfg.PollInterval = time.Hour
	fake := newFake(nil)
	start(t, cfg, fake, fake)
	dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	time.Sleep(400 * time.Millisecond)
	if fake.total.Load() != 0 {
		t.Fatal("claimed while the master switch was off")
	}
	exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	waitFor(t, 2*time.Second, "the flag change to wake the sidecar", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
}

// A stop waits for in-flight messages and writes their outcomes; Run returns nil.
func TestMain_GracefulShutdownDrainsInFlight(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := newFake(nil)
	fake.delay = 400 * time.Millisecond
	sc := start(t, testConfig(db), fake, fake)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload) select 'email.send', $1::jsonb from generate_series(1, 5)`, emailPayload)
	waitFor(t, 2*time.Second, "work to start", func() bool { return fake.total.Load() == 5 })
	if err := sc.stop(t); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if n := countState(t, db.Pool, "succeeded"); n != 5 {
		t.Fatalf("%d succeeded after a graceful stop, want 5", n)
	}
	var stopped bool
	_ = db.Pool.QueryRow(context.Background(), `select stopped_at is not null from symphony.workers`).Scan(&stopped)
	if !stopped {
		t.Fatal("worker row not marked stopped")
	}
}

// Past the shutdown deadline, work is interrupted and handed back, not lost.
func TestMain_ShutdownDeadlineHandsWorkBack(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.ShutdownTimeout = 200 * time.Millisecond
	fake := newFake(nil)
	fake.delay = time.Minute
	sc := start(t, cfg, fake, fake)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 2*time.Second, "work to start", func() bool { return fake.total.Load() == 1 })
	if err := sc.stop(t); err != nil {
		t.Fatal(err)
	}
	var st, code string
	_ = db.Pool.QueryRow(context.Background(), `select state, errors->-1->>'code' from symphony.messages where id = $1`, id).Scan(&st, &code)
	if st != "pending" || code != "interrupted" {
		t.Fatalf("state %q code %q, want pending/interrupted", st, code)
	}
}

func TestMain_HTTPEndpoints(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	sc := start(t, testConfig(db), nil, nil)
	dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 2*time.Second, "success", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
	waitFor(t, 2*time.Second, "the listener", func() bool { r, _ := sc.get(t, "/readyz"); return r.StatusCode == 200 })

	if r, body := sc.get(t, "/healthz"); r.StatusCode != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz %d %s", r.StatusCode, body)
	}
	r, body := sc.get(t, "/metrics")
	if r.StatusCode != 200 || !strings.Contains(body, `symphony_messages_processed_total{kind="email.send",outcome="succeeded",queue="email"} 1`) ||
		!strings.Contains(body, "symphony_listener_connected 1") {
		t.Errorf("/metrics %d: %.2000s", r.StatusCode, body)
	}
	r, body = sc.get(t, "/status")
	var st struct {
		Sidecar struct {
			WorkerID      string `json:"worker_id"`
			EmailProvider string `json:"email_provider"`
		} `json:"sidecar"`
		Listener bool                       `json:"listener_connected"`
		Master   bool                       `json:"master_enabled"`
		Queues   map[string]json.RawMessage `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || r.StatusCode != 200 {
		t.Fatalf("/status %d %v: %s", r.StatusCode, err, body)
	}
	if st.Sidecar.EmailProvider != "log" || !st.Listener || !st.Master || st.Queues["email"] == nil {
		t.Errorf("/status %s", body)
	}
}

// The database is unreachable at start: the sidecar stays up, says why it is not
// ready, and keeps trying.
func TestMain_UnreachableDatabaseAtStart(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.DatabaseURL = "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=1&sslmode=disable"
	m := newUnreadySidecar(t, cfg)
	waitFor(t, 5*time.Second, "the HTTP address", func() bool { return m.Addr() != nil })
	base := "http://" + m.Addr().String()
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("/readyz: %v %v, want 503", resp, err)
	}
	resp.Body.Close()
}
