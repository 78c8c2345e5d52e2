package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// batchFake is a paced provider fake with a batch endpoint, and what the run
// reads from it: every recipient it accepted an email for (once per email),
// and every request it received.
type batchFake struct {
	env        map[string]string
	recipients func() []string
	requests   func() []fakehttp.Request
	single     string // the path of a single send
	close      func()
}

func newBatchFake(provider string, pace fakehttp.Pace) (*batchFake, error) {
	switch provider {
	case "resend":
		f := resendfake.New(resendfake.Options{Pace: pace})
		return &batchFake{env: map[string]string{"SYMPHONY_EMAIL_PROVIDER": "resend", "RESEND_API_KEY": resendfake.DefaultAPIKey,
			"SYMPHONY_RESEND_URL": f.URL()}, single: "/emails", requests: f.Requests, close: f.Close,
			recipients: func() []string {
				var out []string
				for _, e := range f.Emails() {
					out = append(out, e.To...)
				}
				return out
			}}, nil
	case "postmark":
		f := postmarkfake.New(postmarkfake.Options{Pace: pace})
		return &batchFake{env: map[string]string{"SYMPHONY_EMAIL_PROVIDER": "postmark", "POSTMARK_SERVER_TOKEN": postmarkfake.DefaultServerToken,
			"SYMPHONY_POSTMARK_URL": f.URL()}, single: "/email", requests: f.Requests, close: f.Close,
			recipients: func() []string {
				var out []string
				for _, m := range f.Messages() {
					out = append(out, m.To)
				}
				return out
			}}, nil
	}
	return nil, fmt.Errorf("-provider must be resend or postmark, not %q", provider)
}

// forgetLearned clears what an earlier run taught the rate-limit buckets
// (the rate, the search for it, the counts behind its guesses): each run
// starts from nothing, as a fresh deployment does.
func forgetLearned(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `update symphony.rate_limits set learned_per_second = null, learned_max = null,
		learned_source = null, learned_at = null, refused_rate = null, refused_at = null, raised_at = null, paused_until = null,
		accepted_rate = null, starved_at = null, accepted_counts = '{}', guessed_at = null, guessed_rate = null, probe_hold = default,
		stray_at = null, stray_rate = null, strays = 0, trial_at = null, trial_rate = null, noise_until = null, spent_at = null,
		learned_concurrency = null, concurrency_refused_at = null, concurrency_raised_at = null`)
	return err
}

// newCampaign creates and starts a campaign of n recipients (bulk<i>@example.com).
func newCampaign(ctx context.Context, pool *pgxpool.Pool, n int) error {
	_, err := pool.Exec(ctx, `truncate symphony.campaigns cascade`)
	if err == nil {
		_, err = pool.Exec(ctx, `insert into symphony.campaigns (name, "from", subject, html, unsubscribe_url)
			values ('bench', 'News <news@example.com>', 'Hello {{name}}', '<p>Hi {{name}}</p>', 'https://app.example/u/{{recipient_id}}')`)
	}
	if err == nil {
		_, err = pool.Exec(ctx, `insert into symphony.campaign_recipients (campaign_id, email, data)
			select c.id, format('bulk%s@example.com', i), jsonb_build_object('name', 'R' || i)
			  from symphony.campaigns c, generate_series(1, $1) i`, n)
	}
	if err == nil {
		_, err = pool.Exec(ctx, `select symphony.start_campaign(id) from symphony.campaigns`)
	}
	if err != nil {
		return fmt.Errorf("error creating the campaign: %w", err)
	}
	return nil
}

// campaignSent is how many of the campaign's emails succeeded.
func campaignSent(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var k int
	err := pool.QueryRow(ctx, `select count(*) from symphony.messages where kind = 'email.send' and priority < 0 and state = 'succeeded'`).Scan(&k)
	return k, err
}

// waitUntil polls cond every 50 ms until it holds, for at most limit.
func waitUntil(ctx context.Context, limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// batchPhase is one measured send through a fresh fake.
type batchPhase struct {
	took              time.Duration
	singles, batches  int // requests by endpoint (admitted or refused)
	accepted          int // emails the fake accepted
	perRecipientCount map[string]int
}

// phase counts the requests that carried a recipient whose address contains
// marker, and the emails accepted for them.
func (b *batchFake) phase(took time.Duration, marker string) batchPhase {
	p := batchPhase{took: took, perRecipientCount: map[string]int{}}
	for _, r := range b.requests() {
		if !bytes.Contains(r.Body, []byte(marker)) {
			continue
		}
		if r.Path == b.single {
			p.singles++
		} else {
			p.batches++
		}
	}
	for _, to := range b.recipients() {
		if strings.Contains(to, marker) {
			p.perRecipientCount[to]++
			p.accepted++
		}
	}
	return p
}

// runBatching measures batch sending against a provider fake that allows
// limit requests a second, in one run: emails sent one per request
// (transactional: priority 0), the same number as a bulk backlog and as a
// campaign (batched), with the transactional latency (commit to the
// provider's accepted request) while the campaign runs; then the campaign
// again with the sidecar killed with SIGKILL, counting what every recipient
// received.
func runBatching(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	bin := fs.String("bin", "bin/symphony", "the sidecar binary")
	provider := fs.String("provider", "resend", "resend or postmark")
	limit := fs.Int("limit", 20, "requests the fake allows per second")
	latency := fs.Duration("latency", 50*time.Millisecond, "how long the fake takes to answer")
	n := fs.Int("n", 10000, "campaign recipients")
	singleN := fs.Int("single-n", 1000, "emails sent one per request, for the comparison")
	kills := fs.Int("kills", 2, "SIGKILLs of the sidecar in the crash run (0: no crash run)")
	killLease := fs.String("kill-lease", "10s", "SYMPHONY_LEASE of the crash run's sidecars: how soon a killed sidecar's messages are rescued (SYMPHONY_HANDLER_TIMEOUT is half of it)")
	probeEvery := fs.Duration("probe-every", 250*time.Millisecond, "how often a transactional email is dispatched during the campaign")
	_ = fs.Parse(args)
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The rate learned here would throttle the benchmarks that follow.
	defer func() {
		if err := forgetLearned(context.WithoutCancel(ctx), pool); err != nil {
			fmt.Fprintf(os.Stderr, "  could not clear the learned rate limits: %v\n", err)
		}
	}()
	pace := fakehttp.Pace{PerSecond: *limit, Latency: *latency}
	what := fmt.Sprintf("%s fake allowing %d requests/s (one-second windows), answering in %s; one sidecar, default settings", *provider, *limit, *latency)

	// sendAll runs a fresh sidecar against a fresh fake until want emails
	// whose recipient contains marker succeeded, after load put them in
	// the queue; during drives whatever else runs meanwhile.
	sendAll := func(marker string, want int, load func() error, during func(context.Context)) (batchPhase, *batchFake, error) {
		fake, err := newBatchFake(*provider, pace)
		if err != nil {
			return batchPhase{}, nil, err
		}
		defer fake.close()
		if err := reset(ctx, pool); err != nil {
			return batchPhase{}, nil, err
		}
		if err := forgetLearned(ctx, pool); err != nil {
			return batchPhase{}, nil, err
		}
		sc, err := startSidecar(ctx, *bin, *db, fake.env)
		if err != nil {
			return batchPhase{}, nil, err
		}
		defer sc.stop()
		if err := load(); err != nil {
			return batchPhase{}, nil, err
		}
		began := time.Now()
		if err := setMaster(ctx, pool, true); err != nil {
			return batchPhase{}, nil, err
		}
		dctx, stopDuring := context.WithCancel(ctx)
		var wg sync.WaitGroup
		if during != nil {
			wg.Go(func() { during(dctx) })
		}
		// Counted at the fake (in this process), not by polling the
		// database the run is measuring.
		err = waitUntil(ctx, 15*time.Minute, "the emails to be sent", func() (bool, error) {
			k := 0
			for _, to := range fake.recipients() {
				if strings.Contains(to, marker) {
					k++
				}
			}
			return k >= want, nil
		})
		took := time.Since(began)
		stopDuring()
		wg.Wait()
		if err != nil {
			return batchPhase{}, nil, err
		}
		if err := waitUntil(ctx, time.Minute, "every message to finish", func() (bool, error) {
			left, err := unfinished(ctx, pool)
			return !left, err
		}); err != nil {
			return batchPhase{}, nil, err
		}
		return fake.phase(took, marker), fake, nil
	}

	// 1. Emails one per request: priority 0 (transactional) is never batched.
	single, _, err := sendAll("user", *singleN, func() error { return loadRows(ctx, pool, emailRows, *singleN) }, nil)
	if err != nil {
		return err
	}
	// 2. The same number as a campaign's, as a backlog: priority -1, inserted at once.
	backlog, _, err := sendAll("bulk", *n, func() error { return loadRows(ctx, pool, bulkRows, *n) }, nil)
	if err != nil {
		return err
	}
	// 3. A campaign of as many recipients, with transactional emails dispatched alongside.
	var committed map[string]time.Time
	campaign, fake, err := sendAll("bulk", *n, func() error { return newCampaign(ctx, pool, *n) },
		func(ctx context.Context) { committed = transactionalProbes(ctx, pool, *probeEvery) })
	if err != nil {
		return err
	}
	probes := probeLatencies(fake.requests(), committed)

	singleRate := float64(*singleN) / single.took.Seconds()
	fmt.Fprintf(os.Stderr, "  single: %d emails in %s, %d requests; backlog: %d in %s, %d batch + %d single requests; campaign: %d in %s, %d batch + %d single requests\n",
		*singleN, single.took.Round(time.Millisecond), single.singles+single.batches, *n, backlog.took.Round(time.Millisecond),
		backlog.batches, backlog.singles, *n, campaign.took.Round(time.Millisecond), campaign.batches, campaign.singles)
	emit(figure{Name: "batch_" + *provider + "_single_rate", Value: singleRate, Unit: "msgs/s",
		Note: fmt.Sprintf("%d emails sent one per request (priority 0: never batched); %s", *singleN, what)})
	for _, ph := range []struct {
		name, what string
		p          batchPhase
	}{
		{"backlog", fmt.Sprintf("%d bulk emails (priority -1, as a campaign's) inserted at once", *n), backlog},
		{"campaign", fmt.Sprintf("a %d-recipient campaign (its fan-out queues 500 at a time), start to last email", *n), campaign},
	} {
		rate := float64(*n) / ph.p.took.Seconds()
		emit(figure{Name: "batch_" + *provider + "_" + ph.name + "_rate", Value: rate, Unit: "msgs/s",
			Note: ph.what + ", batched by the sidecar; same fake, same run"})
		emit(figure{Name: "batch_" + *provider + "_" + ph.name + "_speedup", Value: rate / singleRate, Unit: "x",
			Note: "its messages per second over single sends' (goal: 50x or more)"})
		emit(figure{Name: "batch_" + *provider + "_" + ph.name + "_per_request", Value: float64(ph.p.accepted) / float64(max(ph.p.batches+ph.p.singles, 1)),
			Unit: "msgs/request", Note: fmt.Sprintf("emails accepted per request made for them, 429s included (%d batch, %d single requests for %d emails; goal: 90 or more on Resend)",
				ph.p.batches, ph.p.singles, ph.p.accepted)})
	}
	if len(probes) > 0 {
		emit(figure{Name: "batch_" + *provider + "_transactional_p95", Value: ms(percentile(probes, 0.95)), Unit: "ms",
			Note: fmt.Sprintf("commit to the accepted provider request of %d transactional emails dispatched every %s during the campaign (p50 %.1f ms, max %.1f ms; goal: p95 100 ms or less)",
				len(probes), *probeEvery, ms(percentile(probes, 0.5)), ms(percentile(probes, 1)))})
	}

	if *kills == 0 {
		return nil
	}
	// 4. The campaign again, its sidecar killed with SIGKILL *kills times.
	crash, flagged, err := killRun(ctx, pool, *bin, *db, *provider, pace, *n, *kills, *killLease)
	if err != nil {
		return err
	}
	dup, missing := 0, 0
	for i := 1; i <= *n; i++ {
		switch c := crash.perRecipientCount[fmt.Sprintf("bulk%d@example.com", i)]; {
		case c == 0:
			missing++
		case c > 1:
			dup += c - 1
		}
	}
	emit(figure{Name: "batch_" + *provider + "_kill9_duplicates", Value: float64(dup), Unit: "emails",
		Note: fmt.Sprintf("second copies any recipient got in the %d-recipient campaign with %d SIGKILLs of its sidecar mid-campaign (missing: %d; results flagged possible_duplicate: %d); SYMPHONY_LEASE=%s (handler timeout half of it) so a killed sidecar's messages come back sooner",
			*n, *kills, missing, flagged, *killLease)})
	emit(figure{Name: "batch_" + *provider + "_kill9_rate", Value: float64(*n) / crash.took.Seconds(), Unit: "msgs/s",
		Note: "the same campaign with the kills, start to last email (waiting out the killed sidecars' leases included)"})
	if missing > 0 {
		return fmt.Errorf("%d recipients got no email in the crash run", missing)
	}
	return nil
}

// killRun sends the campaign through a fresh fake, killing the sidecar with
// SIGKILL each time another share of it was accepted, and starting another.
func killRun(ctx context.Context, pool *pgxpool.Pool, bin, db, provider string, pace fakehttp.Pace, n, kills int, lease string) (batchPhase, int, error) {
	fake, err := newBatchFake(provider, pace)
	if err != nil {
		return batchPhase{}, 0, err
	}
	defer fake.close()
	if err := reset(ctx, pool); err != nil {
		return batchPhase{}, 0, err
	}
	if err := forgetLearned(ctx, pool); err != nil {
		return batchPhase{}, 0, err
	}
	d, err := time.ParseDuration(lease)
	if err != nil {
		return batchPhase{}, 0, fmt.Errorf("-kill-lease: %w", err)
	}
	env := map[string]string{"SYMPHONY_LEASE": lease, "SYMPHONY_HANDLER_TIMEOUT": (d / 2).String()}
	for k, v := range fake.env {
		env[k] = v
	}
	if err := newCampaign(ctx, pool, n); err != nil {
		return batchPhase{}, 0, err
	}
	began := time.Now()
	if err := setMaster(ctx, pool, true); err != nil {
		return batchPhase{}, 0, err
	}
	var sc *sidecar
	for k := 0; k <= kills; k++ {
		env["SYMPHONY_WORKER_ID"] = fmt.Sprintf("bench-kill-%d", k)
		if sc, err = startSidecar(ctx, bin, db, env); err != nil {
			return batchPhase{}, 0, err
		}
		if k == kills {
			break
		}
		share := n * (k + 1) / (kills + 1)
		if err := waitUntil(ctx, 10*time.Minute, "the share before a kill", func() (bool, error) {
			return len(fake.recipients()) >= share, nil
		}); err != nil {
			return batchPhase{}, 0, err
		}
		_ = sc.cmd.Process.Kill() // SIGKILL: no drain, no final writes
		<-sc.done
		sc.logs.Close()
		_ = os.Remove(sc.logs.Name()) // killed on purpose: nothing to keep
	}
	defer sc.stop()
	err = waitUntil(ctx, 15*time.Minute, "the campaign's emails after the kills", func() (bool, error) {
		if len(fake.recipients()) < n {
			return false, nil // not yet: no need to ask the database
		}
		k, err := campaignSent(ctx, pool)
		return k >= n, err
	})
	took := time.Since(began)
	if err != nil {
		return batchPhase{}, 0, err
	}
	var flagged int
	if err := pool.QueryRow(ctx, `select count(*) from symphony.messages where result @> '{"possible_duplicate": true}'`).Scan(&flagged); err != nil {
		return batchPhase{}, 0, err
	}
	return fake.phase(took, "bulk"), flagged, nil
}

// transactionalProbes dispatches a transactional email every interval until ctx ends, and
// returns each one's recipient with when its dispatch committed.
func transactionalProbes(ctx context.Context, pool *pgxpool.Pool, every time.Duration) map[string]time.Time {
	out := map[string]time.Time{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
		to := fmt.Sprintf("probe%d@example.com", i)
		_, err := pool.Exec(ctx, `select symphony.dispatch('email.send', jsonb_build_object('to', $1::text,
			'from', 'app@example.com', 'subject', 'Your code', 'text', 'hello'))`, to)
		if err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return out
			}
			fmt.Fprintf(os.Stderr, "  probe: %v\n", err)
			continue
		}
		out[to] = time.Now()
	}
}

// probeLatencies is, for each probe, the time from its commit to the last
// request that carried it (the accepted one: a refused one is sent again).
func probeLatencies(reqs []fakehttp.Request, committed map[string]time.Time) []time.Duration {
	var out []time.Duration
	for to, at := range committed {
		var last time.Time
		needle := []byte(`"` + to + `"`)
		for _, r := range reqs {
			if bytes.Contains(r.Body, needle) {
				last = r.At
			}
		}
		if !last.IsZero() {
			out = append(out, last.Sub(at))
		}
	}
	slices.Sort(out)
	return out
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
