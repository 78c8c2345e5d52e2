package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// Timings of the sidecars under test: short enough that a killed sidecar's
// leases expire within seconds, with the provider hang (fault "hang") past the
// attempt deadline so it is a real timeout. The drain's budget: the fakes go
// on failing after the harness's faults end, and each of Resend's random 429s
// says its window is spent (ratelimit-remaining: 0, retry-after: 1), which
// pauses the email bucket for a second for every sidecar; at 5 % of requests
// that holds email near 10 a second, and its backlog took 49-71 s to drain.
const (
	lease          = 4 * time.Second
	handlerTimeout = 2 * time.Second
	providerHang   = 3 * time.Second
	drainBudget    = 150 * time.Second
	resendLimit    = 50
)

// TestChaos_Suite dispatches a steady stream of emails (Resend, idempotent)
// and SMS (Twilio, not) to several real sidecar processes while killing them
// with SIGKILL, redeploying them with SIGTERM, crashing and restarting
// PostgreSQL and failing ~30% of provider requests; then checks every
// invariant and prints the tally.
func TestChaos_Suite(t *testing.T) {
	set, err := SettingsFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	Lock(t)
	root := RepoRoot(t)
	cluster := NewCluster(root)
	dbURL := cluster.NewDatabase(t)
	bin := Build(t, root)

	// Resend states its team's limit on every answer (ratelimit-* headers),
	// its random 429s included; a team's limit raised to 50/s is well above
	// what the suite dispatches, so only the random faults refuse.
	resend := resendfake.New(resendfake.Options{APIKey: "re_chaos_key", Pace: fakehttp.Pace{PerSecond: resendLimit}})
	t.Cleanup(resend.Close)
	twilio := twiliofake.New(twiliofake.Options{})
	t.Cleanup(twilio.Close)
	mix := fakehttp.DefaultMix(providerHang)
	resend.SetRandom(fakehttp.Random{Rate: set.FaultRate, Mix: mix})
	twilio.SetRandom(fakehttp.Random{Rate: set.FaultRate, Mix: mix})

	logDir := os.Getenv("SYMPHONY_CHAOS_LOGS")
	if logDir == "" {
		logDir = t.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sidecars := make([]*Sidecar, set.Sidecars)
	for i := range sidecars {
		name := fmt.Sprintf("chaos-%c", 'a'+i)
		sidecars[i] = NewSidecar(t, bin, name, logDir, []string{
			"DATABASE_URL=" + dbURL,
			"SYMPHONY_WORKER_ID=" + name,
			"SYMPHONY_HTTP_ADDR=127.0.0.1:0",
			"SYMPHONY_EMAIL_PROVIDER=resend", "RESEND_API_KEY=re_chaos_key", "SYMPHONY_RESEND_URL=" + resend.URL(),
			"SYMPHONY_SMS_PROVIDER=twilio", "SYMPHONY_TWILIO_URL=" + twilio.URL(), "TWILIO_FROM=+14155550000",
			"TWILIO_ACCOUNT_SID=" + twiliofake.DefaultAccountSID, "TWILIO_AUTH_TOKEN=" + twiliofake.DefaultAuthToken,
			"SYMPHONY_QUEUES=email=8,sms=8",
			"SYMPHONY_LEASE=" + lease.String(), "SYMPHONY_HANDLER_TIMEOUT=" + handlerTimeout.String(),
			"SYMPHONY_POLL_INTERVAL=500ms", "SYMPHONY_RETRY_BASE=100ms", "SYMPHONY_RETRY_MAX=1s",
			"SYMPHONY_SHUTDOWN_TIMEOUT=5s", "SYMPHONY_LOG_FORMAT=json", "SYMPHONY_LOG_LEVEL=info",
		})
		if err := sidecars[i].Start(); err != nil {
			t.Fatal(err)
		}
	}

	// The test's own connections give up quickly while the database is down.
	pool, err := pgxpool.New(context.Background(), dbURL+"&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), set.Duration+drainBudget)
	defer cancel()
	tickCtx, stopTick := context.WithCancel(ctx)
	defer stopTick()
	go tick(tickCtx, pool)

	var wg sync.WaitGroup
	ids := make([]int64, set.Messages)
	var kills, deploys, restarts atomic.Int64
	wg.Add(3)
	go func() { defer wg.Done(); dispatchAll(ctx, t, pool, set, began, ids) }()
	go func() { defer wg.Done(); disruptAll(ctx, t, set, began, sidecars, &kills, &deploys) }()
	go func() { defer wg.Done(); restartAll(ctx, t, set, began, cluster, &restarts) }()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Faults stop coming from the harness (the providers keep failing); every
	// message must now reach a final state.
	t.Logf("faults done after %s; draining", time.Since(began).Round(time.Second))
	// (open is the last count read: a read that fails, the database down
	// or the test's time up, leaves it as it was.)
	open := -1
	drainFrom, shown := time.Now(), time.Now()
	for deadline := time.Now().Add(drainBudget); ; time.Sleep(250 * time.Millisecond) {
		var n int
		err := pool.QueryRow(ctx, `select count(*) from symphony.messages where state in ('pending', 'processing')`).Scan(&n)
		if err == nil {
			open = n
		}
		if open == 0 {
			t.Logf("drained %s after the faults", time.Since(drainFrom).Round(100*time.Millisecond))
			break
		}
		if time.Since(shown) >= 10*time.Second {
			// Which queue holds the drain back, and at what rate: a slow
			// drain that passes says where the margin went.
			shown = time.Now()
			logDrain(t, pool, time.Since(drainFrom))
		}
		if time.Now().After(deadline) {
			logBuckets(t, pool)
			t.Fatalf("%d messages still pending or processing %s after the faults ended (last read: %v)", open, drainBudget, err)
		}
	}
	elapsed := time.Since(began)
	stopTick()
	for _, s := range sidecars {
		if err := s.Stop(15 * time.Second); err != nil {
			t.Errorf("graceful stop after the run: %v", err)
		}
	}

	tally := Tally{Settings: set, Elapsed: elapsed, Kills: int(kills.Load()), Deploys: int(deploys.Load()), Restarts: int(restarts.Load())}
	email, sms := tallyRows(ctx, t, pool, ids)
	email.Name, sms.Name = "email (Resend)", "sms (Twilio)"
	email.Requests, email.Faults = resend.RequestCount(), resend.RandomCounts()
	sms.Requests, sms.Faults = twilio.RequestCount(), twilio.RandomCounts()
	emailAccepted := map[string][]string{}
	for _, e := range resend.Emails() {
		emailAccepted[e.Subject] = append(emailAccepted[e.Subject], e.ID)
	}
	smsAccepted := map[string][]string{}
	for _, m := range twilio.Messages() {
		smsAccepted[m.Body] = append(smsAccepted[m.Body], m.SID)
	}
	checkProvider(&email, email.rows, emailAccepted)
	checkProvider(&sms, sms.rows, smsAccepted)
	tally.Columns = []Column{email.Column, sms.Column}

	for _, r := range append(email.deadReasons, sms.deadReasons...) {
		t.Log("dead: " + r)
	}
	report := tally.String()
	t.Log("\n" + report)
	if path := os.Getenv("SYMPHONY_CHAOS_TALLY"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}

	if tally.Kills != set.Kills || tally.Deploys != set.Deploys || tally.Restarts != set.Restarts {
		t.Errorf("did %d kills, %d deploys and %d restarts, want %d, %d and %d",
			tally.Kills, tally.Deploys, tally.Restarts, set.Kills, set.Deploys, set.Restarts)
	}
	for _, c := range tally.Columns {
		if c.NotFinal != 0 || c.Lost != 0 || c.Unflagged != 0 || c.PhantomSuccess != 0 {
			t.Errorf("%s: not final %d, lost %d, unflagged duplicates %d, succeeded but never accepted %d; all must be 0",
				c.Name, c.NotFinal, c.Lost, c.Unflagged, c.PhantomSuccess)
		}
		if c.Succeeded+c.Dead+c.Cancelled != c.Dispatched {
			t.Errorf("%s: %d succeeded + %d dead + %d cancelled != %d dispatched", c.Name, c.Succeeded, c.Dead, c.Cancelled, c.Dispatched)
		}
	}
	if email.Duplicates != 0 {
		t.Errorf("Resend accepted %d duplicates although every request carried an idempotency key", email.Duplicates)
	}
	if sum(email.Faults)+sum(sms.Faults) == 0 {
		t.Error("no provider fault was injected: the run proved nothing about provider failures")
	}
	for _, s := range sidecars {
		crashes, err := s.Crashes()
		if err != nil || len(crashes) > 0 {
			t.Errorf("sidecar %s wrote non-log output (a panic?): %v %.2000s", s.Name, err, strings.Join(crashes, "\n"))
		}
	}
	if t.Failed() {
		t.Logf("sidecar logs: %s", logDir)
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// tick does what pg_cron's symphony-tick does on Supabase (every 5 s there):
// rescue expired leases and wake the sidecars. A cloned database has no
// pg_cron, so the test runs it, every second. Errors (the database is down)
// are the point of the exercise and are ignored.
func tick(ctx context.Context, pool *pgxpool.Pool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, _ = pool.Exec(c, `select symphony.tick()`)
			cancel()
		}
	}
}

// message i's payload: even i an email, odd i an SMS; the subject or body
// names i, which is how the provider's copies are matched to rows.
func message(i int) (kind, payload string) {
	if i%2 == 0 {
		return "email.send", fmt.Sprintf(`{"to":"user%d@example.com","from":"Chaos <chaos@example.com>","subject":"chaos %d","text":"hello"}`, i, i)
	}
	return "sms.send", fmt.Sprintf(`{"to":"+1415%07d","body":"chaos %d"}`, i, i)
}

// dispatchAll dispatches set.Messages at a steady rate over set.Duration. A
// dispatch that fails (the database is down, or went down during the commit)
// is repeated under the same dedupe_key, so it is neither lost nor doubled.
func dispatchAll(ctx context.Context, t *testing.T, pool *pgxpool.Pool, set Settings, began time.Time, ids []int64) {
	every := set.Duration / time.Duration(set.Messages)
	for i := range ids {
		if d := time.Until(began.Add(time.Duration(i) * every)); d > 0 {
			time.Sleep(d)
		}
		kind, payload := message(i)
		for {
			c, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := pool.QueryRow(c, `select symphony.dispatch($1, $2::jsonb, jsonb_build_object('dedupe_key', $3::text))`,
				kind, payload, "chaos-"+strconv.Itoa(i)).Scan(&ids[i])
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("dispatch %d never succeeded: %v", i, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// disruptAll disrupts sidecars, one event at a time in time order: set.Kills
// times SIGKILL to a random sidecar, started again after a moment as Fly
// restarts a crashed machine, and set.Deploys times SIGTERM and a start (a
// rolling deploy), each kind spread evenly over the run.
func disruptAll(ctx context.Context, t *testing.T, set Settings, began time.Time, sidecars []*Sidecar, kills, deploys *atomic.Int64) {
	type event struct {
		at   time.Time
		kill bool
	}
	var events []event
	spread := func(n int, offset float64, kill bool) {
		for k := range n {
			at := began.Add(time.Duration(float64(set.Duration) * (float64(k) + offset) / float64(n)))
			events = append(events, event{at: at, kill: kill})
		}
	}
	spread(set.Kills, 0.5, true)
	spread(set.Deploys, 0.7, false)
	sort.Slice(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	for _, e := range events {
		if !sleepUntil(ctx, e.at) {
			return
		}
		s := sidecars[rand.IntN(len(sidecars))]
		if e.kill {
			if s.Kill() {
				kills.Add(1)
			}
			time.Sleep(time.Duration(200+rand.IntN(600)) * time.Millisecond)
		} else {
			if err := s.Stop(15 * time.Second); err != nil {
				t.Errorf("deploy: %v", err)
			}
			deploys.Add(1)
		}
		if err := s.Start(); err != nil {
			t.Error(err)
			return
		}
	}
}

// restartAll restarts PostgreSQL set.Restarts times, alternating a crash
// (immediate: no checkpoint, WAL replay) and a clean fast shutdown.
func restartAll(ctx context.Context, t *testing.T, set Settings, began time.Time, cluster *Cluster, restarts *atomic.Int64) {
	for r := range set.Restarts {
		// Offset by a quarter period so restarts and kills do not always coincide.
		at := began.Add(time.Duration(float64(set.Duration) * (float64(r) + 0.25) / float64(set.Restarts)))
		if !sleepUntil(ctx, at) {
			return
		}
		mode := "immediate"
		if r%2 == 1 {
			mode = "fast"
		}
		if err := cluster.Stop(mode); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(time.Duration(1000+rand.IntN(1000)) * time.Millisecond)
		if err := cluster.Start(); err != nil {
			t.Error(err)
			return
		}
		restarts.Add(1)
	}
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(at)):
		return true
	}
}

// logDrain logs, during the drain, each queue's messages not yet final and
// each bucket's rate in force.
func logDrain(t *testing.T, pool *pgxpool.Pool, after time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var open, rates string
	err := pool.QueryRow(ctx, `select
		  (select coalesce(string_agg(queue || ' ' || n, ', ' order by queue), 'none')
		     from (select queue, count(*) n from symphony.messages
		            where state in ('pending', 'processing') group by queue) q),
		  (select coalesce(string_agg(name || ' ' || coalesce(round(coalesce(per_second, learned_per_second), 1)::text, 'unlimited')
		                              || case when paused_until > now() then ' (paused)' else '' end, ', ' order by name), 'none')
		     from symphony.rate_limits)`).Scan(&open, &rates)
	if err != nil {
		t.Logf("draining, %s in: could not read the queues: %v", after.Round(time.Second), err)
		return
	}
	t.Logf("draining, %s in: open %s; rates per second %s", after.Round(time.Second), open, rates)
}

// logBuckets records what each rate-limit bucket was doing (the learned rate,
// its bounds, a trial): a drain that does not finish is most often a rate
// held below what the sidecars need.
func logBuckets(t *testing.T, pool *pgxpool.Pool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := pool.Query(ctx, `select row_to_json(r)::text from symphony.rate_limits r order by name`)
	if err != nil {
		t.Logf("could not read the rate-limit buckets: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err == nil {
			t.Logf("bucket %s", b)
		}
	}
}
