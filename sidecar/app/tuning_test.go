package app_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// emailSlots reads the email queue's concurrency limit from /status.
func emailSlots(t *testing.T, s *sidecar) int {
	t.Helper()
	_, body := s.get(t, "/status")
	var st struct {
		Queues map[string]struct {
			Slots int `json:"slots"`
		} `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status: %v: %s", err, body)
	}
	return st.Queues["email"].Slots
}

// Against a provider that answers in 500 ms, the email queue's concurrency
// grows from 16 to what the backlog needs; when the provider starts failing
// with 503s it backs off; once the provider is healthy again it grows back.
// (In the sidecar's own package, limiter_test.go holds the controller's
// steps to figures: this test holds the whole loop to its direction.)
func TestTuning_ConcurrencyFollowsTheProvider(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{Pace: fakehttp.Pace{Latency: 500 * time.Millisecond}})
	t.Cleanup(fake.Close)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, fake.URL()
	cfg.Queues = map[string]int{"email": 1000}
	cfg.HandlerTimeout = 3 * time.Second
	s := start(t, cfg, nil, nil)
	if n := emailSlots(t, s); n != 16 {
		t.Fatalf("email starts with %d slots, want 16", n)
	}
	const n = 10000
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'u' || g || '@example.com', 'from', 'hi@acme.test', 'subject', 'Hi', 'text', 'Hello')
		  from generate_series(1, $1) g`, n)

	peak := 0
	// 16 slots at 500 ms send 32 a second; growth stops where more slots no
	// longer buy throughput, which on a busy test machine may be the CPU.
	waitFor(t, 20*time.Second, "the email queue to grow past 64 slots", func() bool {
		peak = max(peak, emailSlots(t, s))
		return peak > 64
	})

	// The provider fails every request until it recovers: more failures than
	// the test can use up, cleared once the limit has backed off. (A fixed
	// number of failures ran out before the limit fell, or, once it fell,
	// took minutes to use up at a handful of slots.)
	fake.Inject(fakehttp.Times(100000, fakehttp.Status(503))...)
	low := peak
	waitFor(t, 30*time.Second, "the email queue to back off below half its peak", func() bool {
		low = min(low, emailSlots(t, s))
		return low < peak/2
	})
	fake.ClearFaults()
	waitFor(t, 30*time.Second, "the email queue to grow again", func() bool { return emailSlots(t, s) >= max(2*low, 32) })
	t.Logf("peak %d slots, %d while failing, %d after", peak, low, emailSlots(t, s))
}
