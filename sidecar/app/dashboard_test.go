package app_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/chromium"
)

const dashboardToken = "chromium-test-token-0123456789abcdef"

// dashboardFixture fills the database with what an operator would see mid-
// migration: traffic, dead messages with real providers' reasons, a message
// waiting to retry, a sidecar that stopped beating, a partial rollout.
func dashboardFixture(t *testing.T) (*sidecar, string) {
	t.Helper()
	db := testDB(t)
	cfg := testConfig(db)
	cfg.WorkerID = "fly-3d8d9e1b"
	cfg.DashboardToken = dashboardToken
	cfg.DashboardAddr = "127.0.0.1:0"
	sc := start(t, cfg, nil, nil)

	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'hi@acme.test', 'subject', 'Welcome', 'text', 'hi')
		  from generate_series(1, 40) g`)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'sms.send', jsonb_build_object('to', '+1415555' || lpad(g::text, 4, '0'), 'body', 'Your code is 1234')
		  from generate_series(1, 12) g`)
	waitFor(t, 10*time.Second, "the traffic to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 52 })

	// Failures, delayed so that the running sidecar leaves them to this setup.
	exec(t, db.Pool, `select symphony.send_email('bounced@example.org', 'hi@acme.test', 'Welcome', 'hi', null, '{"delay": "1 hour"}')`)
	exec(t, db.Pool, `select symphony.send_sms('+1555123', 'Your code is 1234', null, '{"delay": "1 hour"}')`)
	exec(t, db.Pool, `select symphony.send_email('slow@example.net', 'hi@acme.test', 'Receipt', 'hi', null, '{"delay": "1 hour"}')`)
	for range 6 {
		exec(t, db.Pool, `select symphony.send_email('later@example.com', 'hi@acme.test', 'Digest', 'hi', null, '{"delay": "1 hour"}')`)
	}
	exec(t, db.Pool, `update symphony.messages set state = 'dead', attempts = 1, finished_at = now() - interval '3 minutes',
		last_error = 'resend http 422 code validation_error: The to address is on the suppression list.',
		errors = '[{"attempt": 1, "code": "validation_error", "maybe_sent": false, "error": "suppressed"}]'
		where payload->>'to' = 'bounced@example.org'`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', attempts = 1, finished_at = now() - interval '40 seconds',
		last_error = 'twilio http 400 code 21211: The ''To'' number +1555123 is not a valid phone number.',
		errors = '[{"attempt": 1, "code": "21211", "maybe_sent": false, "error": "invalid number"}]'
		where payload->>'to' = '+1555123'`)
	// Its retry is due after the test: at 8 seconds the running sidecar sent it before the page was drawn.
	exec(t, db.Pool, `update symphony.messages set attempts = 2, available_at = now() + interval '10 minutes',
		last_error = 'sendgrid http 503: Service Unavailable',
		errors = '[{"attempt": 2, "code": "", "maybe_sent": true, "error": "sendgrid http 503"}]'
		where payload->>'to' = 'slow@example.net'`)
	exec(t, db.Pool, `insert into symphony.workers (id, hostname, version, heartbeat_at, started_at, queues) values
		('fly-91a7c3e0', '91a7c3e0', 'v1.4.0', now() - interval '2 minutes', now() - interval '3 hours', '{"email": 16}')`)
	exec(t, db.Pool, `update symphony.flags set enabled = true, rollout_percent = 25 where name = 'email_queue'`)
	return sc, "http://" + sc.DashboardAddr().String()
}

// The dashboard in a real browser: the login form for a visitor without the
// token; with it (a proxy adds the bearer header, as an SSO proxy would),
// queues, failures with retry buttons, sidecars and flags, rendered into a
// screenshot that is a real picture.
func TestMain_DashboardInHeadlessChromium(t *testing.T) {
	t.Parallel()
	_, base := dashboardFixture(t)

	dom := string(chromium.Run(t, 1280, 900, "--dump-dom", base+"/dashboard"))
	if !strings.Contains(dom, "Enter the dashboard token") || strings.Contains(dom, "Recent failures") {
		t.Fatalf("without the token chromium sees:\n%.1000s", dom)
	}

	ps := chromium.BearerProxy(t, base, dashboardToken)

	dom, img, b := chromium.Render(t, ps+"/dashboard", 1280, 900)
	for _, want := range []string{"Queues", "Recent failures", "suppression list", "21211", "Retry", `<span class="pill retrying">retrying</span>`, "sendgrid http 503",
		"Sidecars", "fly-3d8d9e1b", "fly-91a7c3e0", "stale", "Flags", "email_queue", "25%", "master switch on"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered dashboard lacks %q", want)
		}
	}

	if sz := img.Bounds().Size(); sz.X != 1280 || sz.Y < 800 {
		t.Errorf("screenshot is %v, want 1280 wide and about 900 high", sz)
	}
	if n := chromium.DistinctColors(img, 64); n < 64 {
		t.Errorf("the screenshot has %d distinct colours: a blank or error page, not the dashboard", n)
	}
	if out := os.Getenv("SYMPHONY_DASHBOARD_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
