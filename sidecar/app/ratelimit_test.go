package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// bucketRow is the rate-limit bucket name as a JSON row, for a failed test's
// log ("" if it cannot be read).
func bucketRow(pool *pgxpool.Pool, name string) string {
	var row string
	_ = pool.QueryRow(context.Background(), `select row_to_json(r)::text from symphony.rate_limits r where name = $1`, name).Scan(&row)
	return row
}

// testEmail is the payload of the g-th email of a generate_series.
const testEmail = `jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'hi@acme.test', 'subject', 'Hi', 'text', 'Hello')`

// pacedProvider starts a fake of provider that enforces pace, points cfg at
// it, and returns the kind to dispatch, a payload and how many messages the
// fake accepted (each fake records only what it accepted; its request log
// holds the refused ones too), how many it refused in each second, and its
// faults.
func pacedProvider(t *testing.T, provider string, pace fakehttp.Pace, cfg *config.Config) (kind, payload string, accepted, requests func() int, refusedBy func() []int, faults *fakehttp.Faults) {
	t.Helper()
	email := testEmail
	switch provider {
	case "resend":
		f := resendfake.New(resendfake.Options{Pace: pace})
		t.Cleanup(f.Close)
		cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, f.URL()
		return "email.send", email, func() int { return len(f.Emails()) }, f.RequestCount, f.RefusedBySecond, &f.Faults
	case "sendgrid":
		f := sendgridfake.New(sendgridfake.Options{Pace: pace})
		t.Cleanup(f.Close)
		cfg.EmailProvider, cfg.Providers.SendGridAPIKey, cfg.Providers.SendGridURL = "sendgrid", sendgridfake.DefaultAPIKey, f.URL()
		return "email.send", email, func() int { return len(f.Mails()) }, f.RequestCount, f.RefusedBySecond, &f.Faults
	case "postmark":
		f := postmarkfake.New(postmarkfake.Options{Pace: pace})
		t.Cleanup(f.Close)
		cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, f.URL()
		return "email.send", email, func() int { return len(f.Messages()) }, f.RequestCount, f.RefusedBySecond, &f.Faults
	case "twilio":
		f := twiliofake.New(twiliofake.Options{Pace: pace})
		t.Cleanup(f.Close)
		cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", f.URL(), "+14155550000"
		cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
		return "sms.send", `jsonb_build_object('to', '+1415555' || lpad(g::text, 4, '0'), 'body', 'Hello')`,
			func() int { return len(f.Messages()) }, f.RequestCount, f.RefusedBySecond, &f.Faults
	}
	t.Fatalf("no provider %s", provider)
	return
}

// Two sidecars share a provider that allows 40 requests a second: with the
// limit stated in headers (Resend, SendGrid) they keep to it from the first
// answers; with only 429s to go by (Postmark) they find it and then stay
// just under it. (Twilio limits requests in flight, not a rate:
// ratelimit_concurrency_test.go.) Either way the learned rate lands in the shared bucket.
func TestRateLimit_TwoSidecarsKeepToTheProvidersLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider, bucket, source string
		// Bounds loose enough for a busy test machine, whose stalls bunch
		// requests; scripts/bench.sh measures the figures themselves.
		maxRefused int
		minUsed    float64
		maxLearned float64 // × limit: probing for a limit nobody states touches it
	}{
		{"resend", "email", "ratelimit-limit header", 10, 0.7, 1},
		{"sendgrid", "email", "x-ratelimit-limit header", 10, 0.7, 1},
		// Without a stated limit, 429s are all there is to learn from: the
		// first second's sends go out unpaced, and the rate starts at 0.65
		// of what the provider accepted from both sidecars in that second
		// (a full window: between the limit and twice it). It climbs until
		// a paced rate is refused; that 429 bounds the limit at what both
		// sidecars had accepted, and the search holds at 0.95 of the lowest
		// rate refused: the learned rate ends within a probe's step of the
		// limit (40.12 at 40 was seen; 50.9 before). The
		// 429s are those of the first, unpaced second (in flight when the
		// window filled) and a few where the search touches the limit:
		// 1-19 of these 480 on a loaded machine, where the search by one
		// sidecar's count times two refused 27-44, let the rate climb to
		// 1.3 times the limit, and used 30 % of it at worst. Unpaced, three
		// quarters of the requests were refused (issue 16); scripts/bench.sh
		// measures the figures at 100/s.
		//
		// The run can end mid-probe: after each hold the search rises above
		// the refused rate by 1, 2, 4, 8, 16 % a second until a 429, and the
		// refused rate itself was up to a tenth above the limit when a busy
		// machine bunched requests. So the learned rate is bounded at 1.3
		// times the limit, and the refusals at 45: a full test run on 7
		// December saw 49.31/s at 40 (1.23) and 35 refused, where 1.05 and 30
		// had held on a quieter machine.
		{"postmark", "email", "429 responses", 45, 0.6, 1.3},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			t.Parallel()
			const limit, n = 40, 480
			db := testDB(t)
			cfg := testConfig(db)
			kind, payload, accepted, requests, refusedBy, _ := pacedProvider(t, tc.provider, fakehttp.Pace{PerSecond: limit, Latency: 20 * time.Millisecond}, &cfg)
			cfg.RetryBase, cfg.RetryMax = 200*time.Millisecond, time.Second
			cfg.WorkerID = "one"
			one := start(t, cfg, nil, nil)
			cfg.WorkerID = "two"
			start(t, cfg, nil, nil)
			began := time.Now()
			exec(t, db.Pool, fmt.Sprintf(`insert into symphony.messages (kind, payload) select '%s', %s from generate_series(1, $1) g`, kind, payload), n)
			t.Cleanup(func() {
				if t.Failed() { // what the bucket and the messages were doing, for the record
					var states string
					_ = db.Pool.QueryRow(context.Background(), `select string_agg(state || ':' || n, ' ') from
						(select state, count(*) as n from symphony.messages group by state) s`).Scan(&states)
					t.Logf("messages %s; accepted %d of %d requests; bucket %s", states, accepted(), requests(), bucketRow(db.Pool, tc.bucket))
				}
			})
			waitFor(t, 60*time.Second, "every message to succeed", func() bool { return countState(t, db.Pool, "succeeded") == n })
			took := time.Since(began)

			refused := requests() - accepted()
			if accepted() != n || refused > tc.maxRefused {
				t.Errorf("provider accepted %d of %d messages and refused %d requests (at most %d expected)", accepted(), n, refused, tc.maxRefused)
			}
			// The first second's 20 come at once; the rest are paced.
			if used := float64(n-limit) / (took.Seconds() - 1) / limit; used < tc.minUsed {
				t.Errorf("%d messages took %s: %.0f %% of the limit used", n, took.Round(time.Millisecond), used*100)
			}
			var learned float64
			var source string
			if err := db.Pool.QueryRow(context.Background(), `select learned_per_second, learned_source from symphony.rate_limits where name = $1`,
				tc.bucket).Scan(&learned, &source); err != nil {
				t.Fatal(err)
			}
			if source != tc.source || learned > tc.maxLearned*limit || learned < 0.6*limit {
				t.Errorf("bucket %s learned %.2f/s from %q, want ≤ %.0f from %q", tc.bucket, learned, source, tc.maxLearned*limit, tc.source)
			}
			// Visible where an operator looks: /status (the dashboard reads the
			// same overview) and /metrics.
			if r, status := statusBucket(t, one, tc.bucket); r.Source != "learned" || r.LearnedFrom != tc.source || r.PerSecond <= 0 {
				t.Errorf("/status does not show the learned limit of %s: %s", tc.bucket, status)
			}
			waitFor(t, 10*time.Second, "/metrics to show the learned limit", func() bool {
				_, metrics := one.get(t, "/metrics")
				return strings.Contains(metrics, fmt.Sprintf(`symphony_rate_limit_per_second{bucket="%s",source="learned"}`, tc.bucket))
			})
			t.Logf("%d messages in %s, %d refused (by second: %v), learned %.2f/s from %s", n, took.Round(time.Millisecond), refused, refusedBy(), learned, source)
		})
	}
}

// A rate learned low recovers when the provider allows more. Two sidecars
// learn a Postmark limit of 10 requests a second from its 429s (it states
// none); then the account's limit goes up to 40, with no signal at all but
// the absence of 429s. The learned rate is back above 30/s within 90 s:
// after the hold from the last 429 (10 s, doubled up to 40 s each time a 429
// found the limit where it was), each second's raise about doubles (1, 1, 2,
// 4, 8, 16 % ...), so about 20 seconds more. Before, the rate
// held for 30 seconds and then rose 0.5 % a second: 10/s became 11/s in that
// minute, and 30/s took about four minutes.
func TestRateLimit_LearnedRateRecoversWhenTheProviderAllowsMore(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg := testConfig(db)
	f := postmarkfake.New(postmarkfake.Options{Pace: fakehttp.Pace{PerSecond: 10, Latency: 20 * time.Millisecond}})
	t.Cleanup(f.Close)
	cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, f.URL()
	cfg.RetryBase, cfg.RetryMax = 200*time.Millisecond, time.Second
	cfg.WorkerID = "one"
	start(t, cfg, nil, nil)
	cfg.WorkerID = "two"
	start(t, cfg, nil, nil)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'email.send', `+testEmail+` from generate_series(1, 4000) g`)
	learned := func() (rate float64, refused bool) {
		var r *float64
		if err := db.Pool.QueryRow(context.Background(), `select learned_per_second::float8, refused_rate is not null
			from symphony.rate_limits where name = 'email'`).Scan(&r, &refused); err != nil {
			t.Fatal(err)
		}
		if r != nil {
			rate = *r
		}
		return rate, refused
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bucket %s; %d sent", bucketRow(db.Pool, "email"), countState(t, db.Pool, "succeeded"))
		}
	})
	waitFor(t, 60*time.Second, "the sidecars to learn the limit of 10/s from 429s", func() bool {
		rate, refused := learned()
		return refused && rate > 0 && rate <= 12.5 && countState(t, db.Pool, "succeeded") >= 50
	})
	low, _ := learned()
	f.SetRateLimit(40)
	raised := time.Now()
	waitFor(t, 90*time.Second, "the learned rate to recover to at least 30/s", func() bool {
		rate, _ := learned()
		return rate >= 30
	})
	rate, _ := learned()
	t.Logf("learned %.2f/s at 10/s; %.2f/s %s after the provider allowed 40/s", low, rate, time.Since(raised).Round(time.Millisecond))
}

// A provider that refuses a request now and then for a reason other than its
// rate (the chaos suite's fakes refuse 5 % at random, Retry-After: 1) is not
// throttled to a crawl for it. Each 429 used to lower the learned rate and
// pause the bucket for its Retry-After, for every sidecar: the rate fell to
// 4/s and a second went by idle for every twentieth request, and 2,000 such
// messages saw 362 sent in a minute. Now, from a provider that states no
// limit (Postmark), a 429 alone, between accepted requests, only makes its
// message wait; two in a row, or three alone close together on one sidecar,
// are what a limit looks like. These 500 take about 20 s (a sidecar's random
// 429s come close enough together above about 10 requests a second); the
// minute and a quarter allowed is what tells. Twilio's 429s count the
// account's requests in flight, and one that counts no more than accepted
// answers did is not over its limit: only its message waits.
func TestRateLimit_OccasionalRefusalsDoNotThrottle(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{"postmark", "twilio"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			const n = 500
			db := testDB(t)
			cfg := testConfig(db)
			kind, payload, sent, requests, _, faults := pacedProvider(t, provider, fakehttp.Pace{Latency: 10 * time.Millisecond}, &cfg)
			faults.SetRandom(fakehttp.Random{Rate: 0.05, Mix: []fakehttp.Fault{fakehttp.RateLimited("1")}})
			bucket := "email"
			if provider == "twilio" {
				bucket = "sms"
			}
			cfg.WorkerID = "one"
			start(t, cfg, nil, nil)
			cfg.WorkerID = "two"
			start(t, cfg, nil, nil)
			began := time.Now()
			exec(t, db.Pool, fmt.Sprintf(`insert into symphony.messages (kind, payload) select '%s', %s from generate_series(1, $1) g`, kind, payload), n)
			row := func() string { return bucketRow(db.Pool, bucket) }
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%d sent of %d requests; bucket %s", sent(), requests(), row())
				}
			})
			waitFor(t, 75*time.Second, "every message to be sent", func() bool { return countState(t, db.Pool, "succeeded") == n })
			refused := requests() - sent()
			if refused < n/50 {
				t.Fatalf("the fake refused %d of %d requests; the test needs about 5 %%", refused, requests())
			}
			if got := sent(); got != n {
				t.Errorf("the provider has %d messages, want %d (each exactly once)", got, n)
			}
			t.Logf("%d messages in %s, %d requests refused at random; bucket %s", n, time.Since(began).Round(time.Millisecond), refused, row())
		})
	}
}

// learnedPostmarkOneAtATime gives a database whose email bucket has a rate
// learned from 429s (50/s), a Postmark fake (which states no limit), and the
// config of a sidecar that sends one email at a time to it: the fake's
// answers come in the order of its faults.
func learnedPostmarkOneAtATime(t *testing.T) (*pgtest.DB, *postmarkfake.Server, config.Config) {
	t.Helper()
	db := testDB(t)
	// A search that has found its limit: 50/s accepted, 55/s once refused.
	exec(t, db.Pool, `update symphony.rate_limits set learned_per_second = 50, accepted_rate = 50, refused_rate = 55,
		learned_source = '429 responses' where name = 'email'`)
	f := postmarkfake.New(postmarkfake.Options{})
	t.Cleanup(f.Close)
	cfg := testConfig(db)
	cfg.Queues = map[string]int{"email": 1}
	cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, f.URL()
	return db, f, cfg
}

// oneEmail is what the one-at-a-time tests dispatch.
const oneEmail = `{"to":"user@example.com","from":"hi@acme.test","subject":"Hi","text":"Hello"}`

// With a learned rate in force, a 429 between accepted answers changes neither
// the rate nor the bucket: only its message waits out the Retry-After. A
// second 429 in a row is the limit: the rate falls and the bucket pauses.
func TestRateLimit_A429AloneIsNotTheLimitTwoInARowAre(t *testing.T) {
	t.Parallel()
	db, f, cfg := learnedPostmarkOneAtATime(t)
	start(t, cfg, nil, nil)
	bucket := func() (rate float64, refused, paused bool) {
		if err := db.Pool.QueryRow(context.Background(), `select learned_per_second::float8, refused_at is not null, paused_until is not null
			from symphony.rate_limits where name = 'email'`).Scan(&rate, &refused, &paused); err != nil {
			t.Fatal(err)
		}
		return rate, refused, paused
	}
	sent := func(want int) {
		t.Helper()
		waitFor(t, 10*time.Second, fmt.Sprintf("%d sent", want), func() bool { return countState(t, db.Pool, "succeeded") == want })
	}

	dispatchID(t, db.Pool, "email.send", oneEmail, `{}`)
	sent(1)
	f.Inject(fakehttp.RateLimited("1"))
	dispatchID(t, db.Pool, "email.send", oneEmail, `{}`)
	sent(2)
	if rate, refused, paused := bucket(); rate != 50 || refused || paused {
		t.Fatalf("after a 429 alone: learned %.3f/s, refused recorded %v, paused %v; want 50/s as it was, nothing recorded", rate, refused, paused)
	}
	if n := f.RequestCount(); n != 3 {
		t.Fatalf("%d requests, want 3 (the refused message sent again)", n)
	}
	var strayRate *float64
	if err := db.Pool.QueryRow(context.Background(), `select stray_rate::float8 from symphony.rate_limits where name = 'email'`).Scan(&strayRate); err != nil {
		t.Fatal(err)
	}
	if strayRate == nil || *strayRate != 50 {
		t.Fatalf("the 429 alone's rate recorded as %v, want 50 (symphony.rate_stray)", strayRate)
	}

	f.Inject(fakehttp.RateLimited("1"), fakehttp.RateLimited("1"))
	dispatchID(t, db.Pool, "email.send", oneEmail, `{}`)
	sent(3)
	if rate, refused, paused := bucket(); rate >= 50 || !refused || !paused {
		t.Fatalf("after two 429s in a row: learned %.3f/s, refused recorded %v, paused %v; want below 50/s, refused and paused", rate, refused, paused)
	}
}

// A rate a request or two above a limit meets one 429 a window, each between
// accepted answers: three such 429s close together are the limit too.
func TestRateLimit_Lone429sCloseTogetherAreTheLimit(t *testing.T) {
	t.Parallel()
	db, f, cfg := learnedPostmarkOneAtATime(t)
	// Three 429s, each after an accepted request.
	f.Inject(fakehttp.Fault{}, fakehttp.RateLimited("1"), fakehttp.Fault{}, fakehttp.RateLimited("1"), fakehttp.Fault{}, fakehttp.RateLimited("1"))
	start(t, cfg, nil, nil)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'email.send', `+testEmail+` from generate_series(1, 6) g`)
	waitFor(t, 15*time.Second, "all 6 sent", func() bool { return countState(t, db.Pool, "succeeded") == 6 })
	var rate float64
	var refused bool
	if err := db.Pool.QueryRow(context.Background(), `select learned_per_second::float8, refused_at is not null
		from symphony.rate_limits where name = 'email'`).Scan(&rate, &refused); err != nil {
		t.Fatal(err)
	}
	if rate >= 50 || !refused {
		t.Fatalf("after three 429s alone within a second: learned %.3f/s, refused recorded %v; want below 50/s, refused", rate, refused)
	}
}

// A rate just above a limit meets about one 429 a window, and with several
// sidecars each sees too few to read the limit. The bucket counts them for
// all: the third 429 alone, each less than 2 s after the last, starts a
// trial at 5 % less. Here one sidecar meets them 1.6 s apart, too far apart
// for its own count (1.2 s) and close enough for the bucket's.
func TestRateLimit_Lone429sOnTheBucketStartATrial(t *testing.T) {
	t.Parallel()
	db, f, cfg := learnedPostmarkOneAtATime(t)
	sc := start(t, cfg, nil, nil)
	began := time.Now()
	for i := range 3 {
		// The previous message is sent (its retry, a second after its 429,
		// is done) before the next 429 is queued: on a busy machine that
		// retry came late, took the next 429 itself, and made two in a row.
		waitFor(t, 10*time.Second, fmt.Sprintf("%d sent", i), func() bool { return countState(t, db.Pool, "succeeded") == i })
		time.Sleep(time.Until(began.Add(time.Duration(i) * 1600 * time.Millisecond)))
		f.Inject(fakehttp.RateLimited("1"))
		dispatchID(t, db.Pool, "email.send", oneEmail, `{}`)
	}
	waitFor(t, 10*time.Second, "3 sent", func() bool { return countState(t, db.Pool, "succeeded") == 3 })
	// The trial runs 5 s, and ends at the first probe after that: /status
	// read at once shows it (the dashboard reads the same overview).
	if r, status := statusBucket(t, sc, "email"); r.PerSecond != 47.5 || r.TrialSince == nil || r.TrialFrom != 50 ||
		r.AcceptedRate != 50 || r.RefusedRate != 55 {
		t.Errorf("/status does not show the trial at 47.5/s from 50/s between 50 and 55: %s", status)
	}
	var rate, trialRate float64
	var paused bool
	if err := db.Pool.QueryRow(context.Background(), `select learned_per_second::float8, coalesce(trial_rate, 0)::float8,
		paused_until is not null
		from symphony.rate_limits where name = 'email'`).Scan(&rate, &trialRate, &paused); err != nil {
		t.Fatal(err)
	}
	if rate != 47.5 || trialRate != 50 || paused {
		t.Fatalf("after three 429s alone 1.6 s apart: learned %.3f/s, trial from %.3f/s, paused %v; "+
			"want a trial at 47.5/s from 50/s, and no pause", rate, trialRate, paused)
	}
}

// /metrics tells an operator's alerts where each bucket's search stands: its
// bounds, a trial under way, lone 429s ignored. (Buckets no queue of this
// sidecar uses: nothing here changes them.)
func TestRateLimit_SearchStateInMetrics(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `insert into symphony.rate_limits (name) values ('on_trial'), ('ignoring'), ('plain'), ('stated');
		update symphony.rate_limits set learned_per_second = 47.5, refused_rate = 52, accepted_rate = 45,
		       trial_at = now(), trial_rate = 50 where name = 'on_trial';
		update symphony.rate_limits set learned_per_second = 20, trial_rate = 21,
		       noise_until = now() + interval '5 minutes' where name = 'ignoring';
		update symphony.rate_limits set learned_per_second = 20, trial_rate = 21,
		       noise_until = now() - interval '1 second' where name = 'plain';
		update symphony.rate_limits set learned_per_second = 45, learned_max = 50, refused_rate = 50, accepted_rate = 40
		 where name = 'stated'`)
	sc := start(t, testConfig(db), nil, nil)
	want := []string{
		`symphony_rate_limit_search_state{bucket="on_trial",state="trial"} 1`,
		`symphony_rate_limit_search_state{bucket="on_trial",state="ignoring_lone_429s"} 0`,
		`symphony_rate_limit_search_bound_per_second{bound="refused",bucket="on_trial"} 52`,
		`symphony_rate_limit_search_bound_per_second{bound="accepted",bucket="on_trial"} 45`,
		`symphony_rate_limit_search_state{bucket="ignoring",state="trial"} 0`,
		`symphony_rate_limit_search_state{bucket="ignoring",state="ignoring_lone_429s"} 1`,
		`symphony_rate_limit_search_state{bucket="plain",state="trial"} 0`,
		`symphony_rate_limit_search_state{bucket="plain",state="ignoring_lone_429s"} 0`,
	}
	var metrics string
	waitFor(t, 15*time.Second, "/metrics to show the searches", func() bool {
		_, metrics = sc.get(t, "/metrics")
		return strings.Contains(metrics, `bucket="plain"`)
	})
	for _, w := range want {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	if strings.Contains(metrics, `symphony_rate_limit_search_bound_per_second{bound="refused",bucket="ignoring"}`) {
		t.Errorf("/metrics shows a bound the bucket does not have")
	}
	// A provider that states its limit is paced at it, with no search: the
	// bounds left in its row are not shown.
	if strings.Contains(metrics, `symphony_rate_limit_search_bound_per_second{bound="refused",bucket="stated"}`) {
		t.Errorf("/metrics shows search bounds for a bucket paced at a stated limit")
	}
}

// statusBucket returns bucket as the sidecar's /status shows it (the zero
// RateLimit when it is not there), and the page.
func statusBucket(t *testing.T, sc *sidecar, bucket string) (queue.RateLimit, string) {
	t.Helper()
	_, status := sc.get(t, "/status")
	var st struct {
		Cluster struct {
			RateLimits []queue.RateLimit `json:"rate_limits"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(status), &st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Cluster.RateLimits {
		if r.Bucket == bucket {
			return r, status
		}
	}
	return queue.RateLimit{}, status
}
