package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/dashboard"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// seeded returns a dashboard over testdata/seed.sql (two weeks of traffic, a
// rollout at 10 → 50 → 100 %, campaigns, a drip), rolled up as pg_cron would.
func seeded(t *testing.T) (*pgtest.DB, *httptest.Server) {
	t.Helper()
	db := pgtest.NewDB(t)
	seed, err := os.ReadFile("testdata/seed.sql")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, string(seed)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `select symphony.roll_up(interval '30 days')`); err != nil {
		t.Fatal(err)
	}
	h, err := dashboard.New(dashboard.Config{Token: token, Ops: ops.New(db.Pool), WorkerID: "test-sidecar", Version: "v0"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return db, srv
}

var bearer = http.Header{"Authorization": {"Bearer " + token}}

func get(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	resp, body := do(t, client(t), "GET", srv.URL+path, nil, bearer)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%.2000s", path, resp.StatusCode, body)
	}
	return body
}

func scalar[T any](t *testing.T, db *pgtest.DB, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// points returns the number of points of the polylines of series name in the
// chart titled title.
func points(t *testing.T, page, title, name string) []string {
	t.Helper()
	i := strings.Index(page, `data-chart="`+title+`"`)
	if i < 0 {
		t.Fatalf("no chart %q", title)
	}
	chart := page[i:]
	chart = chart[:strings.Index(chart, "</svg>")]
	m := regexp.MustCompile(`data-series="`+regexp.QuoteMeta(name)+`" points="([^"]*)"`).FindAllStringSubmatch(chart, -1)
	var out []string
	for _, x := range m {
		out = append(out, strings.Fields(x[1])...)
	}
	return out
}

func TestDashboard_ActivityChartsTheRollup(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	page := get(t, srv, "/dashboard/activity")
	// One point a minute up to the last minute rolled up; none after it.
	upto := scalar[time.Time](t, db, `select upto from symphony.rollup_watermarks where name = 'messages'`)
	want := int(upto.Sub(time.Now().UTC().Truncate(time.Minute).Add(-59*time.Minute)) / time.Minute)
	if want < 57 || want > 59 {
		t.Fatalf("the rollup reaches %s: %d minutes of the last hour", upto, want)
	}
	for _, q := range []string{"email", "sms"} {
		for _, s := range []string{"sent", "failed attempts", "retried", "dead"} {
			if n := len(points(t, page, q+": messages per minute", s)); n != want {
				t.Errorf("%s %s: %d points in the last hour, want one a minute rolled up (%d)", q, s, n, want)
			}
		}
		if len(points(t, page, q+": due to provider request", "p95")) == 0 {
			t.Errorf("%s: no p95 latency line", q)
		}
		start := time.Now().UTC().Truncate(time.Minute).Add(-59 * time.Minute)
		sent := scalar[int64](t, db, `select coalesce(sum(succeeded), 0) from symphony.message_minutes where queue = $1 and minute >= $2`, q, start)
		dead := scalar[int64](t, db, `select coalesce(sum(dead), 0) from symphony.message_minutes where queue = $1 and minute >= $2`, q, start)
		if sent == 0 || dead == 0 {
			t.Fatalf("the seed left %s with %d sent, %d dead in the last hour", q, sent, dead)
		}
		if want := fmt.Sprintf("%d sent", sent); !strings.Contains(page, want) {
			t.Errorf("%s: the page does not say %q", q, want)
		}
		if want := fmt.Sprintf("%d dead", dead); !strings.Contains(page, want) {
			t.Errorf("%s: the page does not say %q", q, want)
		}
	}
	day := get(t, srv, "/dashboard/activity?window=1d")
	if n := len(points(t, day, "email: messages per 15 minutes", "sent")); n < 95 || n > 96 {
		t.Errorf("last day: %d points, want one per 15 minutes (96, the last one once it has begun)", n)
	}
}

func TestDashboard_MigrationSideBySideWithTheRollout(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	page := get(t, srv, "/dashboard/migration")
	for _, want := range []string{`data-bridge="email_queue"`, "Legacy", "Symphony", "Rows handed back to legacy",
		`data-marker="10 %"`, `data-marker="50 %"`, `data-marker="100 %"`,
		"flag email_queue 10 → 50 % by raj@acme.test", "flag email_queue 50 → 100 % by ana@acme.test",
		`<td>Rows handed back to legacy</td><td class="n"></td><td class="n">3</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the migration view lacks %q", want)
		}
	}
	start := time.Now().UTC().Truncate(time.Minute).Add(-59 * time.Minute)
	for _, sys := range []string{"legacy", "symphony"} {
		n := scalar[int64](t, db, `select coalesce(sum(finished), 0) from symphony.bridge_minutes where system = $1 and minute >= $2`, sys, start)
		if n == 0 {
			t.Fatalf("the seed finished no %s rows", sys)
		}
		if !strings.Contains(page, fmt.Sprintf(`<td class="n">%d</td>`, n)) {
			t.Errorf("rows handled by %s: the table does not show %d", sys, n)
		}
	}
	// The rollout line climbs 0 → 10 → 50 → 100 across the hour (y: 100 % at
	// the top of the plot, 0 at the bottom).
	pts := points(t, page, "flag email_queue: share routed to Symphony", "rollout")
	var ys []string
	for _, p := range pts {
		y := p[strings.Index(p, ",")+1:]
		if len(ys) == 0 || ys[len(ys)-1] != y {
			ys = append(ys, y)
		}
	}
	if want := []string{"176.0", "160.6", "99.0", "22.0"}; strings.Join(ys, " ") != strings.Join(want, " ") {
		t.Errorf("rollout line at heights %v, want %v (0, 10, 50, 100 %%)", ys, want)
	}
}

func TestDashboard_CampaignProgressAndDrips(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	page := get(t, srv, "/dashboard/campaigns")
	id := scalar[int64](t, db, `select id from symphony.campaigns where name = 'December newsletter'`)
	for class, sql := range map[string]string{
		"failed": `select count(*) from symphony.campaign_recipients r left join symphony.messages m on m.id = r.message_id
		            where r.campaign_id = $1 and (r.status = 'failed' or m.state = 'dead')`,
		"queued": `select count(*) from symphony.campaign_recipients r left join symphony.messages m on m.id = r.message_id
		            where r.campaign_id = $1 and (r.status = 'pending' or m.state = 'pending')`,
		"skipped": `select count(*) from symphony.campaign_recipients where campaign_id = $1 and status = 'skipped'`,
		// Delivery reports count once rolled up (a report from the last minute or two waits).
		"complained": `select count(*) from symphony.campaign_recipients r join symphony.messages m on m.id = r.message_id
		            where r.campaign_id = $1 and exists (select 1 from symphony.delivery_events e
		              where e.message_id = m.id and e.status = 'complained'
		                and e.id <= (select upto_id from symphony.rollup_watermarks where name = 'delivery_events'))`,
	} {
		n := scalar[int64](t, db, sql, id)
		if n == 0 {
			t.Fatalf("the seed has no %s recipient", class)
		}
		if want := fmt.Sprintf(`data-segment="%s" data-n="%d"`, class, n); !strings.Contains(page, want) {
			t.Errorf("December newsletter's bar lacks %s", want)
		}
	}
	for _, want := range []string{`data-campaign="December newsletter" data-status="running"`, `data-campaign="Winter sale" data-status="paused"`,
		fmt.Sprintf(`action="/dashboard/campaigns/%d/pause"`, id), fmt.Sprintf(`action="/dashboard/campaigns/%d/cancel"`, id),
		`data-drip="Onboarding SMS"`, "/ min", "ETA in "} {
		if !strings.Contains(page, want) {
			t.Errorf("the campaigns view lacks %q", want)
		}
	}
	// Step 1 went to all 120 phones; 12 opted out before step 2.
	if !regexp.MustCompile(`<tr><td>1</td><td class="n">120</td>`).MatchString(page) ||
		!regexp.MustCompile(`<tr><td>2</td><td class="n">\d+</td><td class="n">\d+</td><td class="n">12</td>`).MatchString(page) {
		t.Errorf("drip steps not as seeded:\n%s", page[strings.Index(page, `data-drip=`):])
	}
	// The campaign's batch requests of the last hour, as recorded.
	requests := scalar[int64](t, db, `select count(*) from symphony.provider_batches where created_at > now() - interval '1 hour'`)
	emails := scalar[int64](t, db, `select sum(cardinality(message_ids)) from symphony.provider_batches where created_at > now() - interval '1 hour'`)
	open := scalar[int64](t, db, `select count(*) from symphony.provider_batches where outcome is null`)
	if requests < 2 || open == 0 {
		t.Fatalf("the seed has %d batch requests, %d unanswered", requests, open)
	}
	row := fmt.Sprintf(`<tr data-batches="email/resend"><td>email</td><td>resend</td><td class="n">%d</td><td class="n">%d</td><td class="n">%.1f</td><td class="n">%d</td><td class="n">%d</td>`,
		requests, emails, float64(emails)/float64(requests), requests-open, open)
	if !strings.Contains(page, row) {
		t.Errorf("the batch requests are not drawn as recorded: want %s in\n%s", row, page[strings.Index(page, `id="batches"`):])
	}
}

func TestDashboard_DeliveryHealthWithThresholds(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	page := get(t, srv, "/dashboard/delivery")
	for _, want := range []string{`data-channel="email"`, `data-channel="sms"`, `data-threshold="0.3"`, `data-threshold="0.1"`,
		`data-threshold="5"`, "0.3 %: Gmail/Yahoo limit"} {
		if !strings.Contains(page, want) {
			t.Errorf("the delivery view lacks %q", want)
		}
	}
	if n := len(points(t, page, "email: spam complaints, of delivered, per day", "complained")); n != 14 {
		t.Errorf("complaint line has %d points, want 14 days", n)
	}
	c := scalar[int64](t, db, `select coalesce(sum(events), 0) from symphony.delivery_days where channel = 'email' and status = 'complained'`)
	if c == 0 || !strings.Contains(page, fmt.Sprintf("%d complaints", c)) {
		t.Errorf("the page does not say the %d complaints of the fortnight", c)
	}
}

func TestDashboard_ViewsNeedSignIn(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	for _, p := range []string{"/dashboard/activity", "/dashboard/migration", "/dashboard/campaigns", "/dashboard/delivery"} {
		resp, body := do(t, client(t), "GET", srv.URL+p, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/login" || strings.Contains(body, "data-chart") {
			t.Errorf("anonymous GET %s: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = do(t, client(t), "GET", srv.URL+p, nil, bearer)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", p, csp)
		}
	}
	// Every state-changing request a browser marks as cross-site is refused
	// before any handler, even one carrying the token.
	id := scalar[int64](t, db, `select id from symphony.campaigns where name = 'December newsletter'`)
	for _, p := range []string{"/dashboard/login", "/dashboard/logout", "/dashboard/retry", fmt.Sprintf("/dashboard/campaigns/%d/pause", id)} {
		h := http.Header{"Authorization": {"Bearer " + token}, "Sec-Fetch-Site": {"cross-site"}}
		resp, _ := do(t, client(t), "POST", srv.URL+p, url.Values{"token": {token}, "id": {"1"}}, h)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) > 0 {
			t.Errorf("cross-site POST %s: %d, cookies %v; want 403 and no session", p, resp.StatusCode, resp.Cookies())
		}
	}
	if st := scalar[string](t, db, `select status from symphony.campaigns where id = $1`, id); st != "running" {
		t.Errorf("a cross-site pause left the campaign %s", st)
	}
}

func TestDashboard_CampaignActionsAuditedWithTheOperator(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	id := scalar[int64](t, db, `select id from symphony.campaigns where name = 'December newsletter'`)
	status := func() string {
		return scalar[string](t, db, `select status from symphony.campaigns where id = $1`, id)
	}
	u := func(action string) string { return fmt.Sprintf("%s/dashboard/campaigns/%d/%s", srv.URL, id, action) }
	c := client(t)
	if resp, _ := do(t, c, "POST", u("pause"), url.Values{}, nil); resp.StatusCode != http.StatusUnauthorized || status() != "running" {
		t.Fatalf("anonymous pause: %d, campaign %s", resp.StatusCode, status())
	}
	do(t, c, "POST", srv.URL+"/dashboard/login", url.Values{"token": {token}, "name": {"Ana Lima"}}, nil)
	_, page := do(t, c, "GET", srv.URL+"/dashboard/campaigns", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the campaigns page")
	}
	if resp, _ := do(t, c, "POST", u("pause"), url.Values{}, nil); resp.StatusCode != http.StatusForbidden || status() != "running" {
		t.Fatalf("pause without CSRF token: %d, campaign %s", resp.StatusCode, status())
	}
	if resp, _ := do(t, c, "POST", u("pause"), url.Values{"csrf": {m[1]}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden || status() != "running" {
		t.Fatalf("cross-site pause: %d, campaign %s", resp.StatusCode, status())
	}
	if resp, _ := do(t, c, "POST", u("explode"), url.Values{"csrf": {m[1]}}, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown action: %d", resp.StatusCode)
	}
	for _, step := range []struct{ action, want string }{{"pause", "paused"}, {"resume", "running"}, {"cancel", "cancelled"}} {
		resp, _ := do(t, c, "POST", u(step.action), url.Values{"csrf": {m[1]}}, nil)
		if resp.StatusCode != http.StatusSeeOther || status() != step.want {
			t.Fatalf("%s: %d, campaign %s, want %s", step.action, resp.StatusCode, status(), step.want)
		}
	}
	_, page = do(t, c, "GET", srv.URL+"/dashboard/campaigns?notice=x", nil, nil)
	got := scalar[string](t, db, `select string_agg(action || ' by ' || actor, ', ' order by id) from symphony.campaign_actions where campaign_id = $1`, id)
	if want := "pause by dashboard:Ana Lima, resume by dashboard:Ana Lima, cancel by dashboard:Ana Lima"; got != want {
		t.Errorf("campaign_actions: %s, want %s", got, want)
	}
	if !strings.Contains(page, "by <b>dashboard:Ana Lima</b>") {
		t.Error("the campaigns page does not list who acted")
	}
	if by := scalar[string](t, db, `select cancelled_by from symphony.campaigns where id = $1`, id); by != "dashboard:Ana Lima" {
		t.Errorf("cancelled_by %q", by)
	}
	// Again: nothing to cancel any more.
	resp, _ := do(t, c, "POST", u("cancel"), url.Values{"csrf": {m[1]}}, nil)
	_, body := do(t, c, "GET", srv.URL+resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(body, "did not apply") {
		t.Error("a second cancel did not say it did not apply")
	}
	// A bearer request names the operator its authenticating proxy names.
	other := scalar[int64](t, db, `select id from symphony.campaigns where name = 'Winter sale'`)
	resp, _ = do(t, c, "POST", fmt.Sprintf("%s/dashboard/campaigns/%d/resume", srv.URL, other), url.Values{},
		http.Header{"Authorization": {"Bearer " + token}, "X-Forwarded-Email": {"raj@acme.test"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bearer resume: %d", resp.StatusCode)
	}
	if a := scalar[string](t, db, `select actor from symphony.campaign_actions where campaign_id = $1 order by id desc limit 1`, other); a != "dashboard:raj@acme.test" {
		t.Errorf("bearer resume audited as %q", a)
	}
}

// The overview's rate limits say where the search of a 429-only provider
// stands: its bounds, a trial under way and lone 429s being ignored; and,
// for a stated limit, that another client spent its window lately.
func TestDashboard_RateLimitSearchShown(t *testing.T) {
	f := setup(t, time.Now)
	ctx := context.Background()
	if _, err := f.db.Pool.Exec(ctx, `insert into symphony.rate_limits (name) values ('sms_trial'), ('sms_noise'), ('shared')`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool.Exec(ctx, `update symphony.rate_limits
		   set learned_per_second = 47.5, learned_source = '429 responses', learned_at = now(),
		       refused_rate = 52, accepted_rate = 45, trial_at = now() - interval '2 seconds', trial_rate = 50
		 where name = 'sms_trial';
		update symphony.rate_limits
		   set learned_per_second = 20, learned_source = '429 responses', learned_at = now(),
		       trial_rate = 21, noise_until = now() + interval '5 minutes'
		 where name = 'sms_noise';
		update symphony.rate_limits
		   set learned_per_second = 11, learned_max = 19, learned_source = 'ratelimit-limit header', learned_at = now(),
		       spent_at = now()
		 where name = 'shared'`); err != nil {
		t.Fatal(err)
	}
	row := func(page, bucket string) string {
		t.Helper()
		i := strings.Index(page, "<tr><td>"+bucket+"</td>")
		if i < 0 {
			t.Fatalf("no rate-limit row for %s", bucket)
		}
		return page[i : i+strings.Index(page[i:], "</tr>")]
	}
	page := get(t, f.srv, "/dashboard")
	trial := row(page, "sms_trial")
	for _, want := range []string{"trial since ", " from 50.00/s", "held 45.00/s, refused 52.00/s"} {
		if !strings.Contains(trial, want) {
			t.Errorf("the bucket in a trial does not show %q: %s", want, trial)
		}
	}
	if r := row(page, "shared"); !strings.Contains(r, "another client spent the window at ") {
		t.Errorf("the stated limit another client spends shows: %s", r)
	}
	noise := row(page, "sms_noise")
	if !strings.Contains(noise, "lone 429s ignored until ") || strings.Contains(noise, "trial") {
		t.Errorf("the bucket ignoring lone 429s shows: %s", noise)
	}
	// Both end: the trial judged, the five minutes over. The left-over
	// trial_rate is not a trial.
	if _, err := f.db.Pool.Exec(ctx, `update symphony.rate_limits set trial_at = null where name = 'sms_trial';
		update symphony.rate_limits set noise_until = now() - interval '1 second' where name = 'sms_noise';
		update symphony.rate_limits set spent_at = now() - interval '31 seconds' where name = 'shared'`); err != nil {
		t.Fatal(err)
	}
	page = get(t, f.srv, "/dashboard")
	if r := row(page, "sms_trial"); strings.Contains(r, "trial since") || !strings.Contains(r, "refused 52.00/s") {
		t.Errorf("after the trial: %s", r)
	}
	if r := row(page, "sms_noise"); strings.Contains(r, "ignored") || strings.Contains(r, "trial") {
		t.Errorf("after the five minutes: %s", r)
	}
	if r := row(page, "shared"); strings.Contains(r, "another client") {
		t.Errorf("30 seconds after the last spent window: %s", r)
	}
}

// A provider that limits the requests an account has in flight (Twilio)
// shows the limit learned from its 429s, and an operator's that wins.
func TestDashboard_AccountConcurrencyShown(t *testing.T) {
	f := setup(t, time.Now)
	ctx := context.Background()
	if _, err := f.db.Pool.Exec(ctx, `insert into symphony.rate_limits (name) values ('twilio_learned'), ('twilio_operator');
		update symphony.rate_limits set learned_concurrency = 100, concurrency_refused_at = now() where name = 'twilio_learned';
		update symphony.rate_limits set learned_concurrency = 100, concurrency = 40 where name = 'twilio_operator'`); err != nil {
		t.Fatal(err)
	}
	page := get(t, f.srv, "/dashboard")
	row := func(bucket string) string {
		t.Helper()
		i := strings.Index(page, "<tr><td>"+bucket+"</td>")
		if i < 0 {
			t.Fatalf("no rate-limit row for %s", bucket)
		}
		return page[i : i+strings.Index(page[i:], "</tr>")]
	}
	if r := row("twilio_learned"); !strings.Contains(r, "100 in flight") || !strings.Contains(r, "429s over the account's concurrency") ||
		!strings.Contains(r, "learned (in flight)") || strings.Contains(r, "operator") {
		t.Errorf("the learned concurrency shows: %s", r)
	}
	if r := row("twilio_operator"); !strings.Contains(r, "40 in flight") || !strings.Contains(r, "operator (in flight)") {
		t.Errorf("the operator's concurrency shows: %s", r)
	}
}
