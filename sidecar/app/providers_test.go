package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// N messages in → N requests with the right body and auth → N rows succeeded
// with the provider's id, each keyed for idempotency by database and message.
func TestProviders_ResendEndToEnd(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{APIKey: "re_e2e_key"})
	t.Cleanup(fake.Close)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", "re_e2e_key", fake.URL()
	start(t, cfg, nil, nil)

	const n = 50
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'Acme <hi@acme.test>',
		       'subject', 'Welcome ' || g, 'html', '<p>Hi</p>', 'tags', jsonb_build_object('campaign', 'c1'))
		  from generate_series(1, $1) g`, n)
	waitFor(t, 10*time.Second, "all to succeed", func() bool { return countState(t, db.Pool, "succeeded") == n })

	emails := fake.Emails()
	if len(emails) != n || fake.RequestCount() != n {
		t.Fatalf("fake accepted %d emails in %d requests, want %d", len(emails), fake.RequestCount(), n)
	}
	var installation string
	_ = db.Pool.QueryRow(context.Background(), `select id::text from symphony.installation`).Scan(&installation)
	byID := map[string]resendfake.Email{}
	for _, e := range emails {
		byID[e.ID] = e
	}
	rows, err := db.Pool.Query(context.Background(), `select id, payload->>'to', result->>'provider_message_id', result->>'provider' from symphony.messages`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var to, pid, prov string
		if err := rows.Scan(&id, &to, &pid, &prov); err != nil {
			t.Fatal(err)
		}
		e, ok := byID[pid]
		if !ok || prov != "resend" {
			t.Fatalf("message %d: result id %q (provider %q) is not an email the fake accepted", id, pid, prov)
		}
		if len(e.To) != 1 || e.To[0] != to || e.From != "Acme <hi@acme.test>" || e.HTML != "<p>Hi</p>" ||
			len(e.Tags) != 1 || e.Tags[0] != (resendfake.Tag{Name: "campaign", Value: "c1"}) {
			t.Fatalf("message %d sent as %+v", id, e)
		}
		if want := fmt.Sprintf("symphony-%s-%d", installation, id); e.IdempotencyKey != want {
			t.Fatalf("idempotency key %q, want %q", e.IdempotencyKey, want)
		}
	}
	for _, r := range fake.Requests() {
		if r.Header.Get("Authorization") != "Bearer re_e2e_key" || !strings.HasPrefix(r.Header.Get("User-Agent"), "symphony-messenger/") {
			t.Fatalf("request headers %v", r.Header)
		}
	}
}

func TestProviders_SendGridAndPostmarkEndToEnd(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sendgrid", "postmark"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t)
			cfg := testConfig(db)
			cfg.EmailProvider = name
			var accepted func() int
			switch name {
			case "sendgrid":
				f := sendgridfake.New(sendgridfake.Options{APIKey: "SG.e2e"})
				t.Cleanup(f.Close)
				cfg.Providers.SendGridAPIKey, cfg.Providers.SendGridURL = "SG.e2e", f.URL()
				accepted = func() int { return len(f.Mails()) }
			case "postmark":
				f := postmarkfake.New(postmarkfake.Options{ServerToken: "pm-e2e"})
				t.Cleanup(f.Close)
				cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "pm-e2e", f.URL()
				accepted = func() int { return len(f.Messages()) }
			}
			start(t, cfg, nil, nil)
			const n = 10
			exec(t, db.Pool, `insert into symphony.messages (kind, payload) select 'email.send', $1::jsonb from generate_series(1, $2)`, emailPayload, n)
			waitFor(t, 10*time.Second, "all to succeed", func() bool { return countState(t, db.Pool, "succeeded") == n })
			var withID int
			_ = db.Pool.QueryRow(context.Background(),
				`select count(*) from symphony.messages where result->>'provider' = $1 and result->>'provider_message_id' <> ''`, name).Scan(&withID)
			if accepted() != n || withID != n {
				t.Fatalf("provider accepted %d, rows with a provider id %d; want %d", accepted(), withID, n)
			}
		})
	}
}

// Twilio 21610 (recipient replied STOP) is permanent: dead after one request,
// with Twilio's code. The other messages flow.
func TestProviders_TwilioPermanentErrorIsDeadAfterOneTry(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := twiliofake.New(twiliofake.Options{OptedOut: []string{"+14155550199"}})
	t.Cleanup(fake.Close)
	cfg := testConfig(db)
	cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", fake.URL(), "+14155550000"
	cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
	start(t, cfg, nil, nil)
	stop := dispatchID(t, db.Pool, "sms.send", `{"to":"+14155550199","body":"hi"}`, `{}`)
	for range 5 {
		dispatchID(t, db.Pool, "sms.send", `{"to":"+14155550100","body":"hi"}`, `{}`)
	}
	waitFor(t, 10*time.Second, "all to finish", func() bool {
		return countState(t, db.Pool, "succeeded") == 5 && countState(t, db.Pool, "dead") == 1
	})
	var attempts int
	var code, lastError string
	_ = db.Pool.QueryRow(context.Background(), `select attempts, errors->0->>'code', last_error from symphony.messages where id = $1`, stop).Scan(&attempts, &code, &lastError)
	if attempts != 1 || code != "21610" || fake.RequestCount() != 6 {
		t.Fatalf("attempts %d code %q requests %d (last_error %q)", attempts, code, fake.RequestCount(), lastError)
	}
	for _, m := range fake.Messages() {
		if m.From != "+14155550000" || m.Body != "hi" || m.AuthUser != twiliofake.DefaultAccountSID {
			t.Fatalf("message sent as %+v", m)
		}
	}
}

// Postmark 500s are transient: retried until success. Postmark says a 500 may
// still have delivered, so the result is marked as a possible duplicate.
func TestProviders_TransientErrorsRetriedUntilSuccess(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := postmarkfake.New(postmarkfake.Options{})
	t.Cleanup(fake.Close)
	fake.Inject(fakehttp.Times(2, fakehttp.Status(500))...)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, fake.URL()
	start(t, cfg, nil, nil)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 10*time.Second, "success after retries", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
	var attempts int
	var dup bool
	_ = db.Pool.QueryRow(context.Background(), `select attempts, coalesce((result->>'possible_duplicate')::boolean, false) from symphony.messages where id = $1`, id).Scan(&attempts, &dup)
	if attempts != 3 || fake.RequestCount() != 3 || len(fake.Messages()) != 1 || !dup {
		t.Fatalf("attempts %d requests %d accepted %d possible_duplicate %v", attempts, fake.RequestCount(), len(fake.Messages()), dup)
	}
}

// Transient failures that never clear end dead after max_attempts.
func TestProviders_TransientErrorsDeadAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := sendgridfake.New(sendgridfake.Options{})
	t.Cleanup(fake.Close)
	fake.Inject(fakehttp.Times(10, fakehttp.Status(503))...)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.SendGridAPIKey, cfg.Providers.SendGridURL = "sendgrid", sendgridfake.DefaultAPIKey, fake.URL()
	start(t, cfg, nil, nil)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{"max_attempts": 3}`)
	waitFor(t, 10*time.Second, "the message to die", func() bool { return countState(t, db.Pool, "dead") == 1 })
	var attempts int
	var lastError string
	_ = db.Pool.QueryRow(context.Background(), `select attempts, last_error from symphony.messages where id = $1`, id).Scan(&attempts, &lastError)
	if attempts != 3 || fake.RequestCount() != 3 || !strings.Contains(lastError, "503") {
		t.Fatalf("attempts %d requests %d last_error %q", attempts, fake.RequestCount(), lastError)
	}
}

// An account-wide limit holds for two sidecars together.
func TestProviders_RateLimitSharedAcrossSidecars(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	const perSecond, burst, n = 20, 5, 70
	exec(t, db.Pool, `update symphony.rate_limits set per_second = $1, burst = $2 where name = 'email'`, perSecond, burst)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, fake.URL()
	start(t, cfg, nil, nil)
	cfg.WorkerID = "second"
	start(t, cfg, nil, nil)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload) select 'email.send', $1::jsonb from generate_series(1, $2)`, emailPayload, n)
	waitFor(t, 20*time.Second, "all to succeed", func() bool { return countState(t, db.Pool, "succeeded") == n })

	reqs := fake.Requests()
	if len(reqs) != n {
		t.Fatalf("%d requests, want %d", len(reqs), n)
	}
	// Token bucket: in any window of length w at most burst + rate·w requests
	// leave the sidecars. Tokens are taken at claim time; the requests reach the
	// provider a little later, and unevenly: the first requests of a sidecar
	// open its connection, so they leave up to a quarter of a second after
	// their tokens while the next ones follow at once. The window seen here
	// gets 300 ms of slack (with 100 ms, 18 requests within 0.493 s against
	// 17.9 allowed was seen at a load average of 15; with 200 ms, 16 within
	// 0.298 s against 16.0 on a quiet machine, all at the start).
	slack := 0.3
	for i := range reqs {
		for j := i + 1; j < len(reqs); j++ {
			w := reqs[j].At.Sub(reqs[i].At).Seconds()
			if allowed := burst + perSecond*(w+slack) + 1; float64(j-i+1) > allowed {
				t.Fatalf("%d requests within %.3fs: the shared limit allows %.1f", j-i+1, w, allowed)
			}
		}
	}
	span := reqs[len(reqs)-1].At.Sub(reqs[0].At)
	t.Logf("%d sends through two sidecars at %d/s (burst %d) took %s", n, perSecond, burst, span)
	// The same slack: the first request may reach the fake later after its
	// token than the last one does (3.093 s against 3.2 s was seen).
	if min := time.Duration((float64(n-burst-1)/perSecond - slack) * float64(time.Second)); span < min {
		t.Fatalf("took %s, faster than the limit allows (%s)", span, min)
	}
}

// A 429 pauses the shared bucket for its Retry-After: no sidecar sends meanwhile.
func TestProviders_429PausesEverySidecar(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `update symphony.rate_limits set per_second = 1000, burst = 10 where name = 'email'`)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	fake.Inject(fakehttp.RateLimited("1"))
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, fake.URL()
	start(t, cfg, nil, nil)
	cfg.WorkerID = "second"
	start(t, cfg, nil, nil)
	id := dispatchID(t, db.Pool, "email.send", emailPayload, `{}`)
	waitFor(t, 5*time.Second, "the 429", func() bool { return fake.RequestCount() == 1 })
	// The pause starts when the sidecar has read the 429, a moment after the fake sent it.
	waitFor(t, 5*time.Second, "the bucket to pause", func() bool {
		var paused bool
		_ = db.Pool.QueryRow(context.Background(), `select paused_until > clock_timestamp() from symphony.rate_limits where name = 'email'`).Scan(&paused)
		return paused
	})
	exec(t, db.Pool, `insert into symphony.messages (kind, payload) select 'email.send', $1::jsonb from generate_series(1, 5)`, emailPayload)
	waitFor(t, 10*time.Second, "all to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 6 })
	reqs := fake.Requests()
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 800*time.Millisecond {
		t.Fatalf("next request %s after the 429 with Retry-After: 1", gap)
	}
	var attempts int
	_ = db.Pool.QueryRow(context.Background(), `select attempts from symphony.messages where id = $1`, id).Scan(&attempts)
	// The 429 refused our pace, not the message: it spent no attempt.
	if attempts != 1 {
		t.Fatalf("the rate-limited message took %d attempts, want 1 (a 429 spends none)", attempts)
	}
}
