package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/outhook"
)

// edgeFunctions fakes Supabase's Edge Functions gateway: POST
// /functions/v1/<name> with the service-role key as Bearer token; 404 for a
// function that is not deployed; a function that throws answers 500 with
// sb-error-code WORKER_ERROR.
type edgeFunctions struct {
	*httptest.Server
	key      string
	mu       sync.Mutex
	calls    map[string][]outhook.Message // by function
	keys     map[string]string            // Idempotency-Key by message id
	failures int                          // next answers that throw
}

func newEdgeFunctions(t *testing.T, key string, deployed ...string) *edgeFunctions {
	f := &edgeFunctions{key: key, calls: map[string][]outhook.Message{}, keys: map[string]string{}}
	ok := map[string]bool{}
	for _, d := range deployed {
		ok[d] = true
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, found := strings.CutPrefix(r.URL.Path, "/functions/v1/")
		switch {
		case r.Method != http.MethodPost:
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		case r.Header.Get("Authorization") != "Bearer "+f.key:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"msg":"Invalid JWT"}`)
			return
		case !found || !ok[name]:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"NOT_FOUND","message":"Requested function was not found"}`)
			return
		}
		var m outhook.Message
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls[name] = append(f.calls[name], m)
		f.keys[r.Header.Get("X-Symphony-Message-Id")] = r.Header.Get("Idempotency-Key")
		if f.failures > 0 {
			f.failures--
			w.Header().Set("sb-error-code", "WORKER_ERROR")
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"built":true}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func TestRemote_EdgeFunctionHandlesItsKind(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fns := newEdgeFunctions(t, "service-role-key", "build-report")
	fns.failures = 1
	exec(t, db.Pool, `select symphony.register_kind('report.build', 'default', 5, 'edge_function', '{"function": "build-report"}')`)
	exec(t, db.Pool, `select symphony.register_kind('report.missing', 'default', 5, 'edge_function', '{"function": "not-deployed"}')`)
	cfg := testConfig(db)
	cfg.Providers.SupabaseURL, cfg.Providers.SupabaseServiceRoleKey = fns.URL, "service-role-key"
	start(t, cfg, nil, nil)

	id := dispatchID(t, db.Pool, "report.build", `{"report": 42}`, `{"subject": "user-7"}`)
	missing := dispatchID(t, db.Pool, "report.missing", `{}`, `{}`)
	waitFor(t, 5*time.Second, "both to finish", func() bool {
		return countState(t, db.Pool, "succeeded") == 1 && countState(t, db.Pool, "dead") == 1
	})
	var attempts int
	var result, code string
	_ = db.Pool.QueryRow(context.Background(), `select attempts, result->'extra'->>'response', errors->0->>'code' from symphony.messages where id = $1`, id).
		Scan(&attempts, &result, &code)
	if attempts != 2 || result != `{"built": true}` || code != "WORKER_ERROR" {
		t.Fatalf("attempts %d result %q first error code %q", attempts, result, code)
	}
	fns.mu.Lock()
	calls := fns.calls["build-report"]
	fns.mu.Unlock()
	if len(calls) != 2 || string(calls[1].Payload) != `{"report":42}` || calls[1].Attempt != 2 || *calls[1].Subject != "user-7" {
		t.Fatalf("function received %+v", calls)
	}
	var lastError string
	_ = db.Pool.QueryRow(context.Background(), `select last_error from symphony.messages where id = $1`, missing).Scan(&lastError)
	if !strings.Contains(lastError, "404") {
		t.Fatalf("an undeployed function: last_error %q", lastError)
	}
}

func TestRemote_WebhookIsSignedAndKindsReloadWithoutRestart(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	var mu sync.Mutex
	var verified, rejected int
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := outhook.Verify("hook-secret", r.Header.Get("X-Symphony-Signature"), b, time.Now(), 5*time.Minute); err != nil {
			rejected++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		verified++
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	cfg := testConfig(db)
	cfg.Providers.WebhookSecret = "hook-secret"
	start(t, cfg, nil, nil)
	// Registered while the sidecar runs, and used at once: the sidecar learns of
	// the kind from NOTIFY, or re-reads the kinds when it meets one it lacks.
	exec(t, db.Pool, `select symphony.register_kind('crm.sync', 'default', 3, 'webhook', jsonb_build_object('url', $1::text))`, hook.URL+"/hooks")
	for range 5 {
		dispatchID(t, db.Pool, "crm.sync", `{"contact": 1}`, `{}`)
	}
	waitFor(t, 5*time.Second, "the webhooks", func() bool { return countState(t, db.Pool, "succeeded") == 5 })
	mu.Lock()
	defer mu.Unlock()
	if verified != 5 || rejected != 0 {
		t.Fatalf("verified %d rejected %d", verified, rejected)
	}
}

func TestRemote_MisconfiguredKindFailsWithTheReason(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `select symphony.register_kind('report.build', 'default', 5, 'edge_function', '{"function": "build-report"}')`)
	start(t, testConfig(db), nil, nil) // no SUPABASE_URL
	id := dispatchID(t, db.Pool, "report.build", `{}`, `{}`)
	waitFor(t, 3*time.Second, "the message to die", func() bool { return countState(t, db.Pool, "dead") == 1 })
	var lastError string
	_ = db.Pool.QueryRow(context.Background(), `select last_error from symphony.messages where id = $1`, id).Scan(&lastError)
	if !strings.Contains(lastError, "SUPABASE_URL") {
		t.Fatalf("last_error %q", lastError)
	}
}

// A receiver that authenticates by a token in its URL, and quotes the URL back
// when it refuses: the token reaches neither last_error nor /status.
func TestRemote_WebhookURLTokenStaysOutOfLastErrorAndStatus(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no route for POST "+r.URL.RequestURI())
	}))
	t.Cleanup(hook.Close)
	sc := start(t, testConfig(db), nil, nil)
	exec(t, db.Pool, `select symphony.register_kind('crm.sync', 'default', 3, 'webhook', jsonb_build_object('url', $1::text))`,
		hook.URL+"/hooks/T0k3nInThePath?region=eu&tenant=Tenant5ecret")
	id := dispatchID(t, db.Pool, "crm.sync", `{"contact": 1}`, `{}`)
	waitFor(t, 5*time.Second, "the message to die", func() bool { return countState(t, db.Pool, "dead") == 1 })
	var lastError string
	if err := db.Pool.QueryRow(context.Background(), `select last_error from symphony.messages where id = $1`, id).Scan(&lastError); err != nil {
		t.Fatal(err)
	}
	_, status := sc.get(t, "/status")
	for _, secret := range []string{"T0k3nInThePath", "Tenant5ecret"} {
		if strings.Contains(lastError, secret) || strings.Contains(status, secret) {
			t.Errorf("the URL's %q reached last_error (%q) or /status", secret, lastError)
		}
	}
	if !strings.Contains(lastError, "webhook http 404") || !strings.Contains(status, "webhook http 404") {
		t.Errorf("the reason is gone with the token: last_error %q", lastError)
	}
}
