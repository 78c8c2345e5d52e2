package app_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// metricValue finds one sample in a /metrics page; labels must appear in the
// order Prometheus prints them (alphabetical).
func metricValue(t *testing.T, page, name, labels string) (float64, bool) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+labels) + ` (\S+)$`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s%s = %q", name, labels, m[1])
	}
	return v, true
}

// What an operator watches during the migration: provider HTTP statuses and
// latency, outcomes, queue depth from the periodic collector, the listener.
func TestMain_MetricsShowProviderStatusesOutcomesAndQueueDepth(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{APIKey: "re_right_key"})
	t.Cleanup(fake.Close)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", "re_wrong_key", fake.URL()
	cfg.StatsInterval = 50 * time.Millisecond
	sc := start(t, cfg, nil, nil)

	exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	exec(t, db.Pool, `select symphony.send_sms('+14155550100', 'later', null, '{"delay": "1 hour"}')`)
	waitFor(t, 5*time.Second, "the email to die on the wrong key", func() bool { return countState(t, db.Pool, "dead") == 1 })

	host := strings.TrimPrefix(fake.URL(), "http://")
	var page string
	// (And the listener to be connected: on a loaded machine the message
	// can be claimed by a poll and die before it is.)
	waitFor(t, 5*time.Second, "the collector to see the dead message, the listener connected", func() bool {
		_, page = sc.get(t, "/metrics")
		v, _ := metricValue(t, page, "symphony_queue_messages", `{queue="email",state="dead"}`)
		l, _ := metricValue(t, page, "symphony_listener_connected", ``)
		return v == 1 && l == 1
	})
	checks := []struct {
		name, labels string
		want         float64
	}{
		{"symphony_messages_processed_total", `{kind="email.send",outcome="dead",queue="email"}`, 1},
		{"symphony_queue_messages", `{queue="sms",state="scheduled"}`, 1},
		{"symphony_queue_messages", `{queue="sms",state="pending"}`, 0},
		{"symphony_queue_messages", `{queue="default",state="pending"}`, 0},
		{"symphony_queue_oldest_pending_seconds", `{queue="email"}`, 0},
		{"symphony_provider_request_duration_seconds_count", `{host="` + host + `"}`, 1},
		{"symphony_listener_connected", ``, 1},
	}
	for _, c := range checks {
		if v, ok := metricValue(t, page, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%s = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	status := regexp.MustCompile(`symphony_provider_responses_total\{code="(4\d\d)",host="` + regexp.QuoteMeta(host) + `"\} 1`)
	if !status.MatchString(page) {
		t.Errorf("no 4xx provider response counted for %s:\n%s", host, grepLines(page, "symphony_provider"))
	}
	if ts, _ := metricValue(t, page, "symphony_queue_stats_timestamp_seconds", ""); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("queue stats timestamp %v is not recent", ts)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// /status adds the cluster-wide view: queue stats with throughput, failures
// with reasons (no recipients), sidecars with heartbeats, flags.
func TestMain_StatusShowsTheCluster(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	sc := start(t, testConfig(db), nil, nil)
	exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	waitFor(t, 5*time.Second, "the email to succeed", func() bool { return countState(t, db.Pool, "succeeded") == 1 })
	exec(t, db.Pool, `select symphony.send_email('secret@example.com', 'me@example.com', 'hi', 'x', null, '{"delay": "1 hour"}')`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', finished_at = now(), last_error = 'recipient rejected' where state = 'pending'`)

	resp, body := sc.get(t, "/status")
	if resp.StatusCode != 200 {
		t.Fatalf("/status %d", resp.StatusCode)
	}
	var st struct {
		Cluster struct {
			Queues []struct {
				Queue       string `json:"queue"`
				Dead        int    `json:"dead"`
				Succeeded5m int    `json:"succeeded_5m"`
			} `json:"queues"`
			Failures []struct {
				Reason string `json:"reason"`
			} `json:"recent_failures"`
			Workers []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"workers"`
			Flags []struct {
				Name string `json:"name"`
			} `json:"flags"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	c := st.Cluster
	var email bool
	for _, q := range c.Queues {
		if q.Queue == "email" {
			email = q.Dead == 1 && q.Succeeded5m == 1
		}
	}
	if !email || len(c.Failures) != 1 || c.Failures[0].Reason != "recipient rejected" ||
		len(c.Workers) != 1 || c.Workers[0].Status != "alive" || len(c.Flags) < 4 || c.Flags[0].Name != "symphony" {
		t.Fatalf("/status cluster: %s", body)
	}
	if strings.Contains(body, "secret@example.com") {
		t.Fatal("/status shows a recipient")
	}
}

// Without a token there is no dashboard at all.
func TestMain_DashboardOffWithoutToken(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	sc := start(t, testConfig(db), nil, nil)
	if sc.DashboardAddr() != nil {
		t.Fatal("a dashboard listens without a token")
	}
	if resp, _ := sc.get(t, "/dashboard"); resp.StatusCode != 404 {
		t.Fatalf("/dashboard on the main port: %d, want 404", resp.StatusCode)
	}
}
