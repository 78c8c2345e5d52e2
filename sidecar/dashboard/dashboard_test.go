package dashboard_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/dashboard"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/ops"
)

const token = "test-dashboard-token-0123456789"

type fixture struct {
	db   *pgtest.DB
	srv  *httptest.Server
	logs *bytes.Buffer
}

func setup(t *testing.T, now func() time.Time) *fixture {
	t.Helper()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for _, q := range []string{
		`select symphony.send_email('bob@example.com', 'me@example.com', 'hi', 'x')`,
		`select symphony.send_email('eve@example.com', 'me@example.com', 'hi', 'x')`,
		`update symphony.messages set state = 'dead', attempts = 1, finished_at = now(), last_error = 'recipient <b>rejected</b>' where id = 1`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	logs := &bytes.Buffer{}
	h, err := dashboard.New(dashboard.Config{Token: token, Ops: ops.New(db.Pool), WorkerID: "test-sidecar", Version: "v0",
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{db: db, srv: srv, logs: logs}
}

// client does not follow redirects, so each answer can be checked.
func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func state(t *testing.T, f *fixture, id int) string {
	var s string
	if err := f.db.Pool.QueryRow(context.Background(), `select state from symphony.messages where id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestDashboard_LoginSessionRetryWithCSRF(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	c := client(t)

	resp, _ := do(t, c, "GET", f.srv.URL+"/dashboard", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/login" {
		t.Fatalf("anonymous GET /dashboard: %d to %q, want a redirect to the login form", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, c, "POST", f.srv.URL+"/dashboard/login", url.Values{"token": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the dashboard token") {
		t.Fatalf("wrong token: %d %.200s", resp.StatusCode, body)
	}
	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/login", url.Values{"token": {token}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right token: %d", resp.StatusCode)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || strings.Contains(ck[0].Value, token) {
		t.Fatalf("session cookie %+v: want one HttpOnly, SameSite=Strict cookie that does not hold the token", ck)
	}

	resp, body = do(t, c, "GET", f.srv.URL+"/dashboard", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("signed-in GET /dashboard: %d", resp.StatusCode)
	}
	for _, want := range []string{"Queues", "email", "Recent failures", "bob@example.com", "recipient &lt;b&gt;rejected&lt;/b&gt;",
		"Sidecars", "Flags", "email_queue", "test-sidecar"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page has no CSRF token in its forms")
	}

	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/retry", url.Values{"id": {"1"}}, nil)
	if resp.StatusCode != http.StatusForbidden || state(t, f, 1) != "dead" {
		t.Fatalf("retry without CSRF token: %d, message %s; want 403 and still dead", resp.StatusCode, state(t, f, 1))
	}
	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/retry", url.Values{"id": {"1"}, "csrf": {m[1]}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if resp.StatusCode != http.StatusForbidden || state(t, f, 1) != "dead" {
		t.Fatalf("cross-site retry: %d, message %s; want 403 and still dead", resp.StatusCode, state(t, f, 1))
	}
	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/retry", url.Values{"id": {"1", "2"}, "csrf": {m[1]}}, nil)
	if resp.StatusCode != http.StatusSeeOther || state(t, f, 1) != "pending" {
		t.Fatalf("retry with CSRF token: %d, message %s; want a redirect and pending", resp.StatusCode, state(t, f, 1))
	}
	_, body = do(t, c, "GET", f.srv.URL+resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(body, "Retried 1 of 2. The rest were not dead any more.") {
		t.Errorf("no notice after retry:\n%.500s", body)
	}
	var actor string
	if err := f.db.Pool.QueryRow(context.Background(),
		`select actor from symphony.message_actions where message_id = 1 and action = 'retry'`).Scan(&actor); err != nil {
		t.Fatalf("the dashboard's retry is not in symphony.message_actions: %v", err)
	}
	if actor != "dashboard:test-sidecar" {
		t.Errorf("the dashboard's retry is audited as %q, want dashboard:test-sidecar (not the database login)", actor)
	}

	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/logout", url.Values{"csrf": {m[1]}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	resp, _ = do(t, c, "GET", f.srv.URL+"/dashboard", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout GET /dashboard: %d, want a redirect to login", resp.StatusCode)
	}
	if strings.Contains(f.logs.String(), token) {
		t.Fatal("the token appears in the logs")
	}
}

func TestDashboard_BearerToken(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	c := client(t)
	resp, _ := do(t, c, "GET", f.srv.URL+"/dashboard", nil, http.Header{"Authorization": {"Bearer nope"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("wrong bearer token: %d, want a redirect to login", resp.StatusCode)
	}
	resp, body := do(t, c, "GET", f.srv.URL+"/dashboard", nil, http.Header{"Authorization": {"Bearer " + token}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Recent failures") {
		t.Fatalf("bearer token: %d", resp.StatusCode)
	}
	// A browser never adds Authorization by itself, so a bearer POST needs no form token.
	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/retry", url.Values{"id": {"1"}}, http.Header{"Authorization": {"Bearer " + token}})
	if resp.StatusCode != http.StatusSeeOther || state(t, f, 1) != "pending" {
		t.Fatalf("bearer retry: %d, message %s", resp.StatusCode, state(t, f, 1))
	}
	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/retry", url.Values{"id": {"x"}}, http.Header{"Authorization": {"Bearer " + token}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("retry of a bad id: %d, want 400", resp.StatusCode)
	}
	resp, _ = do(t, c, "POST", f.srv.URL+"/dashboard/retry", url.Values{"id": {"2"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || state(t, f, 2) != "pending" {
		t.Fatalf("anonymous retry: %d", resp.StatusCode)
	}
}

func TestDashboard_SessionsExpireAndCannotBeForged(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	f := setup(t, func() time.Time { return clock() })
	c := client(t)
	do(t, c, "POST", f.srv.URL+"/dashboard/login", url.Values{"token": {token}}, nil)
	if resp, _ := do(t, c, "GET", f.srv.URL+"/dashboard", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %d", resp.StatusCode)
	}
	u, _ := url.Parse(f.srv.URL + "/dashboard")
	orig := c.Jar.Cookies(u)[0].Value
	exp, sig, _ := strings.Cut(orig, ".")
	forged := "9999999999." + sig
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "symphony_dashboard", Value: forged, Path: "/dashboard"}})
	if resp, _ := do(t, c, "GET", f.srv.URL+"/dashboard", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a cookie with a forged expiry was accepted (%s → %s)", exp, forged)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "symphony_dashboard", Value: orig, Path: "/dashboard"}})
	now = now.Add(13 * time.Hour)
	if resp, _ := do(t, c, "GET", f.srv.URL+"/dashboard", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("a session older than 12 hours was accepted")
	}
}

func TestDashboard_NeedsAToken(t *testing.T) {
	if _, err := dashboard.New(dashboard.Config{Ops: &ops.Store{}}); err == nil {
		t.Fatal("a dashboard without a token was created")
	}
}
