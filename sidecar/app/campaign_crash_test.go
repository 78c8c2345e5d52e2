package app_test

import (
	"context"
	osexec "os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// buildSidecar builds the real symphony binary for tests that must kill it.
func buildSidecar(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "symphony")
	out, err := osexec.Command("go", "build", "-o", bin, "github.com/symphonymessenger/symphony/sidecar/cmd/symphony").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runSidecar starts the binary against db, sending email through the Resend fake.
func runSidecar(t *testing.T, bin string, db *pgtest.DB, fake *resendfake.Server, id string) *osexec.Cmd {
	t.Helper()
	cmd := osexec.Command(bin, "worker")
	// Only these variables: nothing from the test's environment changes what is tested.
	cmd.Env = append([]string{},
		"DATABASE_URL="+db.ConnString,
		"SYMPHONY_EMAIL_PROVIDER=resend", "RESEND_API_KEY="+resendfake.DefaultAPIKey, "SYMPHONY_RESEND_URL="+fake.URL(),
		"SYMPHONY_HTTP_ADDR=127.0.0.1:0", "SYMPHONY_WORKER_ID="+id, "SYMPHONY_QUEUES=email=16,campaign=2",
		"SYMPHONY_LEASE=3s", "SYMPHONY_HANDLER_TIMEOUT=2s", "SYMPHONY_POLL_INTERVAL=200ms",
		"SYMPHONY_LOG_LEVEL=warn", "SYMPHONY_LOG_FORMAT=text")
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return cmd
}

// The acceptance test: a 5,000-recipient campaign whose sidecar is
// killed with SIGKILL mid-way completes after another starts, and every
// recipient gets exactly one email. The Resend fake counts what it accepted:
// an attempt cut off by the kill is retried with the same Idempotency-Key, so
// the provider does not send it twice. Not parallel: building the binary and
// sending 5,000 emails would starve the package's timing-sensitive tests.
func TestMain_CampaignSurvivesKill9(t *testing.T) {
	bin := buildSidecar(t)
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	const n = 5000
	// 250 ms a request (the campaign's emails go in batches), so the kill
	// finds emails in flight: at 20 ms, on a loaded machine, the sidecar sent
	// each batch as soon as the campaign enqueued it, and a kill found none;
	// at 50 ms a full test run once saw the batches in flight at the check
	// answered and written back before the kill a moment later.
	fake.Inject(fakehttp.Times(2*n, fakehttp.Slow(250*time.Millisecond))...)
	exec(t, db.Pool, `insert into symphony.campaigns (name, "from", subject, html, unsubscribe_url)
		values ('big', 'News <news@example.com>', 'Hello {{name}}', '<p>Hi {{name}}</p>', 'https://app.example/u/{{recipient_id}}')`)
	exec(t, db.Pool, `insert into symphony.campaign_recipients (campaign_id, email, data)
		select c.id, format('r%s@example.com', i), jsonb_build_object('name', 'R' || i) from symphony.campaigns c, generate_series(1, $1) i`, n)
	exec(t, db.Pool, `select symphony.start_campaign(id) from symphony.campaigns`)

	began := time.Now()
	first := runSidecar(t, bin, db, fake, "first")
	// Kill while the provider has not yet accepted at least 8 of the
	// messages being processed. A row stays processing between the
	// provider's answer and its write-back, so "8 processing" alone was
	// often 8 already answered: written back a moment later, before the
	// kill, and the kill found nothing in flight (a full run in two, at
	// 1,700 emails and at 1,000). The database is read before the fake, so
	// a batch answered in between counts as answered.
	waitFor(t, 60*time.Second, "the first sidecar to send 1,000 emails and have more not yet sent", func() bool {
		var processing, succeeded int
		if err := db.Pool.QueryRow(context.Background(), `select count(*) filter (where state = 'processing'),
			count(*) filter (where state = 'succeeded') from symphony.messages where queue = 'email'`).Scan(&processing, &succeeded); err != nil {
			t.Fatal(err)
		}
		accepted := len(fake.Emails())
		return accepted >= 1000 && processing-(accepted-succeeded) >= 8
	})
	if err := first.Process.Kill(); err != nil { // SIGKILL: no drain, no final writes
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill := len(fake.Emails())
	var queuedAtKill, inFlight int
	_ = db.Pool.QueryRow(context.Background(), `select queued, (select count(*) from symphony.messages where state = 'processing')
		from symphony.campaigns`).Scan(&queuedAtKill, &inFlight)
	time.Sleep(3500 * time.Millisecond) // the dead sidecar's leases expire
	runSidecar(t, bin, db, fake, "second")
	waitFor(t, 120*time.Second, "the campaign to complete and every email to be sent", func() bool {
		return queryInt(t, db, `select count(*) from symphony.campaigns where status = 'completed'`) == 1 &&
			countState(t, db.Pool, "succeeded") == n+queryInt(t, db, `select count(*) from symphony.messages where kind = 'campaign.process'`)
	})
	took := time.Since(began)

	perRecipient := map[string]int{}
	for _, e := range fake.Emails() {
		for _, to := range e.To {
			perRecipient[to]++
		}
		if e.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Fatalf("email to %v without one-click unsubscribe: %v", e.To, e.Headers)
		}
	}
	for to, c := range perRecipient {
		if c != 1 {
			t.Errorf("%s received %d emails", to, c)
		}
	}
	if len(perRecipient) != n {
		t.Fatalf("%d recipients received an email, want %d", len(perRecipient), n)
	}
	rescued := queryInt(t, db, `select count(*) from symphony.messages where errors @> '[{"code": "lease_expired"}]'`)
	if rescued == 0 {
		t.Fatalf("nothing was in flight at the kill (%d processing, %d emails sent): the test did not test a crash", inFlight, atKill)
	}
	if q := queryInt(t, db, `select count(*) from symphony.campaign_recipients where status = 'queued'`); q != n {
		t.Fatalf("%d recipients queued, want %d", q, n)
	}
	t.Logf("%d recipients in %s; killed after %d emails (%d queued, %d in flight); %d messages rescued; %d requests to the provider for %d emails",
		n, took.Round(time.Millisecond), atKill, queuedAtKill, inFlight, rescued, fake.RequestCount(), len(fake.Emails()))
}
