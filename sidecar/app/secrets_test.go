package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/app"
	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// Canary credentials: if one of these strings turns up in a log line, an HTTP
// answer or a row, a secret leaked.
const (
	canaryResend   = "re_secret_canary_7f3a9c"
	canarySendGrid = "SG.secret_canary_sendgrid_4b1d"
	canaryPostmark = "pm-secret-canary-91e2"
	canaryTwilio   = "twilio_secret_canary_c0ffee"
	canaryDB       = "pg_secret_canary_5150"
	canarySupabase = "supabase_secret_canary_service_role"
	canaryWebhook  = "webhook_secret_canary_a11ce"
	canaryBoard    = "dashboard_secret_canary_0123456789abcdef0123456789abcdef"
)

var canaries = []string{canaryResend, canarySendGrid, canaryPostmark, canaryTwilio, canaryDB, canarySupabase, canaryWebhook, canaryBoard}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Secrets live in the environment, never in logs, HTTP answers, metrics or
// rows (DESIGN invariant 8): a sidecar with canary credentials sends, fails in
// every way the fakes can make it, is asked every endpoint, and then its
// debug log, the answers and every row of every symphony table are searched.
func TestSecrets_NeverInLogsEndpointsOrRows(t *testing.T) {
	t.Parallel()
	for _, emailProvider := range []string{"resend", "sendgrid", "postmark"} {
		t.Run(emailProvider, func(t *testing.T) {
			t.Parallel()
			db := testDB(t)
			u, err := url.Parse(db.ConnString)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(u.User.Username(), canaryDB) // the test cluster trusts local connections
			env := map[string]string{
				"DATABASE_URL": u.String(), "SYMPHONY_HTTP_ADDR": "127.0.0.1:0", "SYMPHONY_WORKER_ID": "secrets-" + emailProvider,
				"SYMPHONY_QUEUES": "email=4,sms=4,default=1", "SYMPHONY_LEASE": "5s", "SYMPHONY_HANDLER_TIMEOUT": "2s",
				"SYMPHONY_RETRY_BASE": "10ms", "SYMPHONY_RETRY_MAX": "40ms", "SYMPHONY_POLL_INTERVAL": "200ms",
				"SYMPHONY_EMAIL_PROVIDER": emailProvider,
				"RESEND_API_KEY":          canaryResend, "SENDGRID_API_KEY": canarySendGrid, "POSTMARK_SERVER_TOKEN": canaryPostmark,
				"TWILIO_ACCOUNT_SID": twiliofake.DefaultAccountSID, "TWILIO_AUTH_TOKEN": canaryTwilio, "TWILIO_FROM": "+14155550000",
				"SUPABASE_URL": "http://127.0.0.1:1", "SUPABASE_SERVICE_ROLE_KEY": canarySupabase,
				"SYMPHONY_WEBHOOK_SECRET":  canaryWebhook,
				"SYMPHONY_DASHBOARD_TOKEN": canaryBoard, "SYMPHONY_DASHBOARD_ADDR": "127.0.0.1:0",
				"SYMPHONY_LOG_LEVEL": "debug",
			}
			// Every email fake answers: 500, a reset, 401, then success.
			faults := []fakehttp.Fault{fakehttp.Status(500), fakehttp.Reset(), fakehttp.Status(401)}
			var seen func() []fakehttp.Request
			switch emailProvider {
			case "resend":
				f := resendfake.New(resendfake.Options{APIKey: canaryResend})
				t.Cleanup(f.Close)
				f.Inject(faults...)
				env["SYMPHONY_RESEND_URL"], seen = f.URL(), f.Requests
			case "sendgrid":
				f := sendgridfake.New(sendgridfake.Options{APIKey: canarySendGrid})
				t.Cleanup(f.Close)
				f.Inject(faults...)
				env["SYMPHONY_SENDGRID_URL"], seen = f.URL(), f.Requests
			case "postmark":
				f := postmarkfake.New(postmarkfake.Options{ServerToken: canaryPostmark})
				t.Cleanup(f.Close)
				f.Inject(faults...)
				env["SYMPHONY_POSTMARK_URL"], seen = f.URL(), f.Requests
			}
			// Twilio for the first variant; the others keep the log SMS provider, so /outbox exists.
			var tw *twiliofake.Server
			if emailProvider == "resend" {
				tw = twiliofake.New(twiliofake.Options{AuthToken: canaryTwilio, OptedOut: []string{"+14155550199"}})
				t.Cleanup(tw.Close)
				tw.Inject(fakehttp.Status(500), fakehttp.Status(401))
				env["SYMPHONY_SMS_PROVIDER"], env["SYMPHONY_TWILIO_URL"] = "twilio", tw.URL()
			}
			cfg, err := config.FromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}

			var logs syncBuffer
			m := &app.Main{Config: cfg, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			select {
			case <-m.Ready():
			case err := <-done:
				t.Fatalf("sidecar exited: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("sidecar not ready")
			}
			sc := &sidecar{Main: m, cancel: cancel, done: done}
			t.Cleanup(func() { sc.stop(t) })

			exec(t, db.Pool, `select symphony.register_kind('secret.test', 'default')`)
			for i := range 4 {
				dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
				dispatchID(t, db.Pool, "sms.send", fmt.Sprintf(`{"to":"+1415555010%d","body":"hi"}`, i), `{}`)
			}
			dispatchID(t, db.Pool, "sms.send", `{"to":"+14155550199","body":"stop"}`, `{}`)
			dispatchID(t, db.Pool, "secret.test", `{}`, `{}`)
			waitFor(t, 15*time.Second, "every message to finish", func() bool {
				var open int
				_ = db.Pool.QueryRow(context.Background(), `select count(*) from symphony.messages where state in ('pending', 'processing')`).Scan(&open)
				return open == 0
			})
			if countState(t, db.Pool, "dead") < 2 {
				t.Fatal("expected failures (401, an opted-out number, a kind with no handler) to end dead")
			}

			bodies := map[string]string{}
			for _, path := range []string{"/healthz", "/readyz", "/status", "/metrics", "/outbox", "/outbox.json"} {
				_, bodies[path] = sc.get(t, path)
			}
			if err := sc.stop(t); err != nil {
				t.Fatal(err)
			}

			// The canaries were really in use: the providers received them.
			auth := ""
			for _, r := range seen() {
				auth += r.Header.Get("Authorization") + r.Header.Get("X-Postmark-Server-Token")
			}
			if tw != nil {
				for _, r := range tw.Requests() {
					auth += r.Header.Get("Authorization")
				}
			}
			if !strings.Contains(auth, map[string]string{"resend": canaryResend, "sendgrid": canarySendGrid, "postmark": canaryPostmark}[emailProvider]) {
				t.Fatal("the email provider never received the canary credential: the search below would prove nothing")
			}

			log := logs.String()
			if !strings.Contains(log, `"level":"DEBUG"`) || !strings.Contains(log, "message dead") {
				t.Fatalf("the log is missing the debug and failure lines it should hold: %.500s", log)
			}
			for _, c := range canaries {
				if strings.Contains(log, c) {
					i := strings.Index(log, c)
					t.Errorf("secret %q in the log: …%s…", c, log[max(0, i-200):min(len(log), i+100)])
				}
				for path, body := range bodies {
					if strings.Contains(body, c) {
						t.Errorf("secret %q in %s", c, path)
					}
				}
			}
			for table, hits := range rowsContaining(t, db.Pool, canaries) {
				t.Errorf("secret in table %s: %v", table, hits)
			}
		})
	}
}

// rowsContaining searches every row of every table in schema symphony (each
// row as text, every column at once) for any of needles.
func rowsContaining(t *testing.T, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, needles []string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `select c.oid::regclass::text from pg_class c
		where c.relnamespace = 'symphony'::regnamespace and c.relkind in ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 5 {
		t.Fatalf("tables of symphony: %v %v", tables, err)
	}
	found := map[string][]string{}
	for _, table := range tables {
		// The table name comes from the catalog as a quoted regclass, not from input.
		rows, err := pool.Query(ctx, `select n from unnest($1::text[]) n
			where exists (select 1 from `+table+` r where strpos(r::text, n) > 0)`, needles)
		if err != nil {
			t.Fatal(err)
		}
		hits, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 {
			found[table] = hits
		}
	}
	return found
}
