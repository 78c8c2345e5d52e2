package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// A provider call that hangs is cut off by the attempt's deadline, not by the
// provider, and the message is retried and sent. Without an idempotency key
// (Twilio) the cut-off attempt may have been delivered, and the result says so.
func TestBounds_HangingProviderIsCutOffAndRetried(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"resend", "twilio"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t)
			cfg := testConfig(db)
			cfg.HandlerTimeout = time.Second
			hang := fakehttp.Slow(time.Minute)
			var kind, payload string
			var requests func() int
			switch name {
			case "resend":
				f := resendfake.New(resendfake.Options{})
				t.Cleanup(f.Close)
				f.Inject(hang)
				cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, f.URL()
				kind, payload, requests = "email.send", emailPayload, f.RequestCount
			case "twilio":
				f := twiliofake.New(twiliofake.Options{})
				t.Cleanup(f.Close)
				f.Inject(hang)
				cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", f.URL(), "+14155550000"
				cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
				kind, payload, requests = "sms.send", `{"to":"+14155550100","body":"hi"}`, f.RequestCount
			}
			start(t, cfg, nil, nil)
			began := time.Now()
			id := dispatchID(t, db.Pool, kind, payload, `{}`)
			waitFor(t, 15*time.Second, "the retry to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
			took := time.Since(began)

			var attempts int
			var firstError string
			var maybeSent, possibleDup bool
			if err := db.Pool.QueryRow(context.Background(), `select attempts, errors->0->>'error', (errors->0->>'maybe_sent')::boolean,
				coalesce((result->>'possible_duplicate')::boolean, false) from symphony.messages where id = $1`, id).
				Scan(&attempts, &firstError, &maybeSent, &possibleDup); err != nil {
				t.Fatal(err)
			}
			if attempts != 2 || requests() != 2 || took > 10*time.Second {
				t.Fatalf("attempts %d, requests %d, took %s; want the hung attempt cut off at ~1 s and one retry", attempts, requests(), took)
			}
			if !regexp.MustCompile(`deadline|timeout|Timeout`).MatchString(firstError) {
				t.Errorf("first attempt's error %q does not say it timed out", firstError)
			}
			if name == "twilio" && (!maybeSent || !possibleDup) {
				t.Errorf("twilio: maybe_sent %v, possible_duplicate %v; a timed-out send may have been delivered and must be marked", maybeSent, possibleDup)
			}
		})
	}
}

// A provider answering with a huge error body cannot bloat the row: the error
// kept in last_error and errors is bounded.
func TestBounds_HugeProviderErrorIsTruncated(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	f := resendfake.New(resendfake.Options{})
	t.Cleanup(f.Close)
	f.Inject(resendfake.ErrorFault(422, "validation_error", strings.Repeat("x", 4<<20)))
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, f.URL()
	start(t, cfg, nil, nil)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 10*time.Second, "the message to die", func() bool { return countState(t, db.Pool, "dead") == 1 })
	var lastError, errs int
	if err := db.Pool.QueryRow(context.Background(), `select octet_length(last_error), octet_length(errors::text)
		from symphony.messages where id = $1`, id).Scan(&lastError, &errs); err != nil {
		t.Fatal(err)
	}
	if lastError > 2100 || errs > 3000 {
		t.Fatalf("a 4 MiB provider error left last_error of %d bytes and errors of %d", lastError, errs)
	}
}

// Payload limits are per kind and enforced at insert (54000), before any
// field is looked at; a payload at the limit is accepted.
func TestBounds_PayloadLimitPerKind(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `select symphony.register_kind('report.build', 'default')`)
	exec(t, db.Pool, `update symphony.kinds set max_payload_bytes = 1024 where kind = 'report.build'`)
	payload := func(size int) string {
		const frame = `{"x": ""}`
		return `{"x": "` + strings.Repeat("y", size-len(frame)) + `"}`
	}
	if _, err := db.Pool.Exec(context.Background(), insertSQL, "report.build", payload(1024)); err != nil {
		t.Fatalf("a payload of exactly the limit was refused: %v", err)
	}
	_, err := db.Pool.Exec(context.Background(), insertSQL, "report.build", payload(1025))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54000" || !strings.Contains(pe.Message, "1025 bytes; the limit for this kind is 1024") {
		t.Fatalf("a payload one byte over: %v, want 54000 naming both sizes", err)
	}
}

// A flood of NOTIFYs (200,000, most for queues nobody serves, some for a
// served queue) does not grow the sidecar's memory: wake-ups coalesce, and
// nothing is kept per notification. Afterwards NOTIFY still wakes it. Not
// parallel: the heap is measured for the whole test process.
func TestBounds_NotifyFloodDoesNotGrowMemory(t *testing.T) {
	db := testDB(t)
	cfg := testConfig(db)
	cfg.PollInterval = time.Hour // only NOTIFY wakes it
	fake := newFake(nil)
	sc := start(t, cfg, fake, fake)
	waitFor(t, 5*time.Second, "the listener", func() bool { r, _ := sc.get(t, "/readyz"); return r.StatusCode == 200 })

	heap := func() (uint64, int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, runtime.NumGoroutine()
	}
	heapBefore, goroutinesBefore := heap()
	// The email queue's concurrency limit may grow while the served
	// notifications are worked, and each slot is a goroutine of its own that
	// lives on: those are allowed for, at the highest limit seen.
	slotsBefore := emailSlots(t, sc)
	slotsPeak := slotsBefore

	const batches, perBatch, served = 20, 10000, 2000
	began := time.Now()
	for b := range batches {
		// One transaction per batch; distinct payloads, because PostgreSQL folds
		// identical notifications of one transaction into one.
		exec(t, db.Pool, `select pg_notify('symphony', 'flood_' || $1::int || '_' || g) from generate_series(1, $2::int) g`, b, perBatch)
	}
	for range served {
		exec(t, db.Pool, `select pg_notify('symphony', 'email')`)
	}
	want := batches*perBatch + served
	waitFor(t, 60*time.Second, "every notification to be received", func() bool {
		slotsPeak = max(slotsPeak, emailSlots(t, sc))
		return notifications(t, sc) >= want
	})
	slotsPeak = max(slotsPeak, emailSlots(t, sc))
	heapAfter, goroutinesAfter := heap()
	// Goroutines that end on their own (a pooled connection's, an HTTP
	// keep-alive's, a suppression round's) get a few seconds to: one kept per
	// notification would be thousands, and would not go.
	allowed := func() int { return goroutinesBefore + 20 + (slotsPeak - slotsBefore) }
	for settle := time.Now().Add(5 * time.Second); goroutinesAfter > allowed() && time.Now().Before(settle); {
		http.DefaultClient.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond)
		heapAfter, goroutinesAfter = heap()
	}
	growth := int64(heapAfter) - int64(heapBefore)
	t.Logf("%d notifications received in %s; heap %d → %d bytes (%+d), goroutines %d → %d",
		want, time.Since(began).Round(time.Millisecond), heapBefore, heapAfter, growth, goroutinesBefore, goroutinesAfter)
	// 6 MiB is ~30 bytes per notification: anything kept per notification (a
	// string, a queued wake-up) would exceed it; measured growth is ~1 MiB.
	if growth > 6<<20 || goroutinesAfter > allowed() {
		t.Fatalf("after %d notifications the heap grew by %d bytes and goroutines by %d (the email queue's slots by %d)",
			want, growth, goroutinesAfter-goroutinesBefore, slotsPeak-slotsBefore)
	}

	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 5*time.Second, "NOTIFY to still wake the sidecar", func() bool { return fake.callsFor(id) == 1 })
}

var notificationsMetric = regexp.MustCompile(`(?m)^symphony_notifications_total (\S+)$`)

func notifications(t *testing.T, sc *sidecar) int {
	t.Helper()
	_, body := sc.get(t, "/metrics")
	m := notificationsMetric.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no symphony_notifications_total in /metrics")
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(fmt.Errorf("symphony_notifications_total %q: %w", m[1], err))
	}
	return int(f)
}
