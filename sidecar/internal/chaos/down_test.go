package chaos

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// The database is down when the sidecar starts (a deploy racing a database
// restart): the process stays up, /healthz answers, /readyz says why it is not
// ready, it retries with growing waits, and once the database is back it
// becomes ready and sends.
func TestChaos_DatabaseDownAtStart(t *testing.T) {
	Lock(t)
	root := RepoRoot(t)
	cluster := NewCluster(root)
	dbURL := cluster.NewDatabase(t)
	bin := Build(t, root)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)

	if err := cluster.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	s := NewSidecar(t, bin, "down-at-start", t.TempDir(), []string{
		"DATABASE_URL=" + dbURL, "SYMPHONY_HTTP_ADDR=127.0.0.1:0", "SYMPHONY_LOG_FORMAT=json",
		"SYMPHONY_EMAIL_PROVIDER=resend", "RESEND_API_KEY=" + resendfake.DefaultAPIKey, "SYMPHONY_RESEND_URL=" + fake.URL(),
		"SYMPHONY_POLL_INTERVAL=200ms",
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}

	var base string
	var waits []float64
	waitLogs(t, s, 30*time.Second, "three retries with backoff", func(lines []LogLine) bool {
		waits = waits[:0]
		for _, l := range lines {
			if l.Msg == "sidecar starting" {
				base = "http://" + l.Fields["http"].(string)
			}
			if l.Msg == "database unreachable; retrying" {
				w, _ := l.Fields["retry_in"].(float64)
				waits = append(waits, w)
			}
		}
		return base != "" && len(waits) >= 3
	})
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] || waits[len(waits)-1] <= waits[0] {
			t.Fatalf("waits between retries %v (ns) do not grow", waits)
		}
	}
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz while the database is down: %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "database") {
		t.Fatalf("/readyz while the database is down: %d %s, want 503 naming the database", code, body)
	}

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for code, body := get(t, base+"/readyz"); code != 200; code, body = get(t, base+"/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("not ready 30 s after the database came back: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, `select symphony.send_email('a@example.com', 'me@example.com', 'back', 'hello')`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for state := ""; state != "succeeded"; time.Sleep(50 * time.Millisecond) {
		if err := conn.QueryRow(ctx, `select state from symphony.messages where id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("message %d is %s, not sent after the database came back", id, state)
		}
	}
	if err := s.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func waitLogs(t *testing.T, s *Sidecar, timeout time.Duration, what string, cond func([]LogLine) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines, err := s.Logs()
		if err != nil {
			t.Fatal(err)
		}
		if cond(lines) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s in the sidecar's log", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
