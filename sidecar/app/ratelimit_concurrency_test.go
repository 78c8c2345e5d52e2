package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// Twilio limits the requests an account has in flight (its 429 is error
// 20429, and every answer counts them in Twilio-Concurrent-Requests). Two
// sidecars learn the limit from the first 429 over it, keep to a share each,
// read no rate into it, and follow the account when Twilio raises the limit.
//
// Before, the 429s were read as a rate limit: against 20 in flight at 100 ms
// (200/s at most) two sidecars sent 65/s, the rate starting at 8/s from the
// first second's count.
func TestRateLimit_TwoSidecarsKeepToTwiliosConcurrency(t *testing.T) {
	t.Parallel()
	const concurrency, n = 6, 1200
	const latency = 50 * time.Millisecond // 120 requests/s at most
	db := testDB(t)
	cfg := testConfig(db)
	cfg.Queues["sms"] = 200 // the default ceiling: the share, not the ceiling, is what binds
	f := twiliofake.New(twiliofake.Options{Concurrency: concurrency, Pace: fakehttp.Pace{Latency: latency}})
	t.Cleanup(f.Close)
	cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", f.URL(), "+14155550000"
	cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
	cfg.WorkerID = "one"
	one := start(t, cfg, nil, nil)
	cfg.WorkerID = "two"
	start(t, cfg, nil, nil)
	bucket := func() (learned int, rate *float64) {
		var c *int
		if err := db.Pool.QueryRow(context.Background(), `select learned_concurrency, learned_per_second::float8
			from symphony.rate_limits where name = 'sms'`).Scan(&c, &rate); err != nil {
			t.Fatal(err)
		}
		if c != nil {
			learned = *c
		}
		return learned, rate
	}
	t.Cleanup(func() {
		if t.Failed() {
			peak, refused := f.Concurrency()
			t.Logf("%d sent of %d requests, %d refused, at most %d in flight; bucket %s", len(f.Messages()), f.RequestCount(), refused, peak,
				bucketRow(db.Pool, "sms"))
		}
	})
	insert := func(from, count int) {
		exec(t, db.Pool, `insert into symphony.messages (kind, payload)
			select 'sms.send', jsonb_build_object('to', '+1415' || lpad(g::text, 7, '0'), 'body', 'Hello')
			  from generate_series($1::int, $2::int) g`, from, from+count-1)
	}

	began := time.Now()
	insert(1, n)
	waitFor(t, 60*time.Second, "every message to be sent", func() bool { return countState(t, db.Pool, "succeeded") == n })
	took := time.Since(began)
	peak, refused := f.Concurrency()
	if sent := len(f.Messages()); sent != n {
		t.Errorf("the provider has %d messages, want %d (each exactly once)", sent, n)
	}
	// At most a slow start's worth refused (two sidecars start at 16 slots
	// each): each refused slot waits 100 ms and the rest park at once.
	if refused > 40 {
		t.Errorf("%d requests refused over the account's concurrency, want at most 40", refused)
	}
	// Loose for a busy test machine; scripts/bench.sh measures the figure.
	most := float64(concurrency) / latency.Seconds()
	if used := float64(n) / took.Seconds() / most; used < 0.6 {
		t.Errorf("%d messages took %s: %.0f %% of what %d in flight allow", n, took.Round(time.Millisecond), used*100, concurrency)
	}
	learned, rate := bucket()
	if learned != concurrency || rate != nil {
		t.Errorf("the bucket learned a concurrency of %d and a rate of %v; want %d in flight and no rate", learned, rate, concurrency)
	}
	// Visible where an operator looks: /status (the dashboard reads the same
	// overview) and /metrics.
	if r, status := statusBucket(t, one, "sms"); r.Concurrency != concurrency || r.ConcurrencyAt == nil {
		t.Errorf("/status does not show the learned concurrency: %s", status)
	}
	if q := smsQueue(t, one); q.Share != concurrency/2 || q.Slots > concurrency/2 {
		t.Errorf("/status shows the SMS queue at %d slots with a share of %d; want a share of %d, and no more slots", q.Slots, q.Share, concurrency/2)
	}
	waitFor(t, 15*time.Second, "/metrics to show the learned concurrency", func() bool {
		_, metrics := one.get(t, "/metrics")
		return strings.Contains(metrics, fmt.Sprintf(`symphony_rate_limit_learned_concurrency{bucket="sms"} %d`, concurrency))
	})
	t.Logf("%d messages in %s, %d requests refused, at most %d in flight", n, took.Round(time.Millisecond), refused, peak)

	// Twilio raises the account's limit. The sidecars ask for more once a
	// second while their shares hold the queue back, from 30 s after the last
	// 429 that set the limit; here that 429 is made an hour old.
	exec(t, db.Pool, `update symphony.rate_limits set concurrency_refused_at = now() - interval '1 hour' where name = 'sms'`)
	f.SetConcurrency(2 * concurrency)
	raised := time.Now()
	insert(n+1, 4000)
	waitFor(t, 40*time.Second, "the learned concurrency to follow the account's", func() bool {
		learned, _ := bucket()
		return learned >= 2*concurrency-1
	})
	learned, _ = bucket()
	t.Logf("learned %d in flight %s after Twilio allowed %d", learned, time.Since(raised).Round(time.Millisecond), 2*concurrency)
}

// queueState is a queue of this sidecar as /status shows it.
type queueState struct {
	Slots    int `json:"slots"`
	Share    int `json:"concurrency_share"`
	InFlight int `json:"in_flight"`
}

// smsQueue reads the SMS queue's state in s from /status.
func smsQueue(t *testing.T, s *sidecar) queueState {
	t.Helper()
	_, body := s.get(t, "/status")
	var st struct {
		Queues map[string]queueState `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status: %v: %s", err, body)
	}
	return st.Queues["sms"]
}
