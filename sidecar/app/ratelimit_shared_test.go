package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// During a migration the application's own sender and Symphony use one
// Resend account, and one limit. Resend states it in every answer; the
// sidecars keep to 0.95 of it, which left nothing for the application: with
// a limit of 20 requests a second and the application sending 8, the rate
// climbed past the 12 left every two seconds, met a 429 and paused the bucket
// for a second. Symphony sent 8.3 a second, 7.8 % of its requests and 6.7 %
// of the application's were refused. Now an accepted answer that says the
// window is spent while the bucket sends below its ceiling lowers the rate
// by a tenth, and the rate rises 2 % a second after it instead of halfway to
// the ceiling: Symphony sends a step below where the windows fill, and the
// application's requests go through. Once the application stops, the rate
// climbs back to the ceiling.
func TestRateLimit_AStatedLimitSharedWithAnotherClient(t *testing.T) {
	t.Parallel()
	const limit, others = 20, 8
	db := testDB(t)
	cfg := testConfig(db)
	f := resendfake.New(resendfake.Options{Pace: fakehttp.Pace{PerSecond: limit, Latency: 20 * time.Millisecond}})
	t.Cleanup(f.Close)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, f.URL()
	// An install that has run before: the bucket knows the stated limit.
	exec(t, db.Pool, `select symphony.learn_rate_limit('email', $1, 'ratelimit-limit header')`, limit)
	app := f.AnotherClient(others)
	t.Cleanup(app.Stop)
	cfg.WorkerID = "one"
	one := start(t, cfg, nil, nil)
	cfg.WorkerID = "two"
	start(t, cfg, nil, nil)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'hi@acme.test', 'subject', 'Hi', 'text', 'Hello')
		  from generate_series(1, 2000) g`)
	learned := func() float64 {
		var r float64
		if err := db.Pool.QueryRow(context.Background(), `select learned_per_second::float8 from symphony.rate_limits where name = 'email'`).Scan(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	ours := func() (accepted, requests int) {
		for _, e := range f.Emails() {
			if !e.FromOther() {
				accepted++
			}
		}
		ok, refused, failed := app.Counts()
		return accepted, f.RequestCount() - ok - refused - failed
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bucket %s; refused by second %v", bucketRow(db.Pool, "email"), f.RefusedBySecond())
		}
	})

	// The first seconds find where the windows fill; then 20 seconds shared.
	time.Sleep(5 * time.Second)
	ok0, req0 := ours()
	appOK0, appRefused0, _ := app.Counts()
	const shared = 20 * time.Second
	time.Sleep(shared)
	ok1, req1 := ours()
	sent, refused := ok1-ok0, (req1-req0)-(ok1-ok0)
	appOK1, appRefused1, appFailed := app.Counts()
	appSent, appRefusedN := appOK1-appOK0, appRefused1-appRefused0
	if appFailed > 0 {
		t.Errorf("the fake answered %d of the application's requests with neither success nor 429", appFailed)
	}
	rate := float64(sent) / shared.Seconds()
	t.Logf("shared: Symphony %.1f/s (%d refused of %d requests), the application %d accepted, %d refused; learned %.2f/s",
		rate, refused, sent+refused, appSent, appRefusedN, learned())
	if left := float64(limit - others); rate < 0.7*left {
		t.Errorf("Symphony sent %.1f/s of the %.0f/s the application left", rate, left)
	}
	if refused > (sent+refused)/50 {
		t.Errorf("%d of Symphony's %d requests were refused (at most 2 %%)", refused, sent+refused)
	}
	if appRefusedN > (appSent+appRefusedN)/25 {
		t.Errorf("%d of the application's %d requests were refused (at most 4 %%)", appRefusedN, appSent+appRefusedN)
	}
	// Where an operator looks: /status (the dashboard reads the same) and /metrics.
	if r, status := statusBucket(t, one, "email"); r.SharedSpentAt == nil {
		t.Errorf("/status does not say another client spends the limit: %s", status)
	}
	waitFor(t, 10*time.Second, "/metrics to say another client spends the limit", func() bool {
		_, metrics := one.get(t, "/metrics")
		return strings.Contains(metrics, `symphony_rate_limit_search_state{bucket="email",state="shared_with_another_client"} 1`)
	})

	// The application stops sending: the windows are Symphony's again.
	app.Stop()
	stopped := time.Now()
	waitFor(t, 60*time.Second, "the rate to climb back to the ceiling (19/s)", func() bool { return learned() >= 18 })
	t.Logf("back to %.2f/s %s after the application stopped", learned(), time.Since(stopped).Round(time.Second))
}
