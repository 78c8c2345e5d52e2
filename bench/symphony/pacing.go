package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// pacedFake is a provider fake that enforces a rate limit, with what the
// sidecars need to reach it and how many messages it accepted.
type pacedFake struct {
	env       map[string]string
	rows      string // the dispatch statement
	accepted  func() int
	requests  func() int
	refusedBy func() []int // refused in each second after the first request
	close     func()
	// other starts another client of the same account (Resend only).
	other func(perSecond int) *resendfake.Other
	// concurrency reports the most requests in flight at once and the
	// requests the account's concurrency limit refused (Twilio only).
	concurrency func() (peak, refused int)
}

// newPacedFake starts provider's fake under pace; concurrency, for Twilio,
// is the account's limit on requests in flight (0: none).
func newPacedFake(provider string, pace fakehttp.Pace, concurrency int) (*pacedFake, error) {
	if concurrency > 0 && provider != "twilio" {
		return nil, fmt.Errorf("-concurrency is Twilio's limit (error 20429); -provider is %q", provider)
	}
	switch provider {
	case "resend":
		f := resendfake.New(resendfake.Options{Pace: pace})
		return &pacedFake{env: map[string]string{"SYMPHONY_EMAIL_PROVIDER": "resend", "RESEND_API_KEY": resendfake.DefaultAPIKey,
			"SYMPHONY_RESEND_URL": f.URL()}, rows: emailRows, accepted: func() int { return len(f.Emails()) }, requests: f.RequestCount, refusedBy: f.RefusedBySecond, close: f.Close,
			other: f.AnotherClient}, nil
	case "sendgrid":
		f := sendgridfake.New(sendgridfake.Options{Pace: pace})
		return &pacedFake{env: map[string]string{"SYMPHONY_EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": sendgridfake.DefaultAPIKey,
			"SYMPHONY_SENDGRID_URL": f.URL()}, rows: emailRows, accepted: func() int { return len(f.Mails()) }, requests: f.RequestCount, refusedBy: f.RefusedBySecond, close: f.Close}, nil
	case "postmark":
		f := postmarkfake.New(postmarkfake.Options{Pace: pace})
		return &pacedFake{env: map[string]string{"SYMPHONY_EMAIL_PROVIDER": "postmark", "POSTMARK_SERVER_TOKEN": postmarkfake.DefaultServerToken,
			"SYMPHONY_POSTMARK_URL": f.URL()}, rows: emailRows, accepted: func() int { return len(f.Messages()) }, requests: f.RequestCount, refusedBy: f.RefusedBySecond, close: f.Close}, nil
	case "twilio":
		f := twiliofake.New(twiliofake.Options{Pace: pace, Concurrency: concurrency})
		return &pacedFake{env: map[string]string{"SYMPHONY_SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": twiliofake.DefaultAccountSID,
			"TWILIO_AUTH_TOKEN": twiliofake.DefaultAuthToken, "TWILIO_FROM": "+14155550000", "SYMPHONY_TWILIO_URL": f.URL()},
			rows: smsRows, accepted: func() int { return len(f.Messages()) }, requests: f.RequestCount, refusedBy: f.RefusedBySecond, close: f.Close,
			concurrency: f.Concurrency}, nil
	}
	return nil, fmt.Errorf("-provider must be resend, sendgrid, postmark or twilio, not %q", provider)
}

// runPacing sends n messages through sidecars (default settings) sharing a
// provider fake that allows limit requests a second, counted in one-second
// windows and refused with that provider's own 429 (Twilio's: concurrency
// requests in flight), and reports how much of the limit they used and how
// many requests were refused.
func runPacing(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	bin := fs.String("bin", "bin/symphony", "the sidecar binary")
	provider := fs.String("provider", "resend", "resend, sendgrid, postmark or twilio")
	limit := fs.Int("limit", 100, "requests the fake allows per second")
	latency := fs.Duration("latency", 50*time.Millisecond, "how long the fake takes to answer")
	n := fs.Int("n", 3000, "messages to send")
	sidecars := fs.Int("sidecars", 2, "sidecars sharing the provider")
	others := fs.Int("others", 0, "with -provider resend: requests/s another client of the same account sends throughout (an application's own sender, during a migration)")
	concurrency := fs.Int("concurrency", 0, "with -provider twilio (and only there): the account's limit on requests in flight, which Twilio's 20429 is about; the fake limits no rate, and -limit is not used")
	_ = fs.Parse(args)
	if *provider == "twilio" {
		if *concurrency <= 0 {
			return fmt.Errorf("-provider twilio needs -concurrency: Twilio limits the requests an account has in flight, not requests a second")
		}
		*limit = 0
	}
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	// What an earlier run learned would flatter this one: start from nothing.
	if err := forgetLearned(ctx, pool); err != nil {
		return err
	}
	fake, err := newPacedFake(*provider, fakehttp.Pace{PerSecond: *limit, Latency: *latency}, *concurrency)
	if err != nil {
		return err
	}
	defer fake.close()
	var other *resendfake.Other
	if *others > 0 {
		if fake.other == nil || *others >= *limit {
			return fmt.Errorf("-others needs -provider resend and fewer requests/s than -limit")
		}
		other = fake.other(*others)
		defer other.Stop()
		time.Sleep(2 * time.Second) // the account already busy when the sidecars start
	}
	if err := loadRows(ctx, pool, fake.rows, *n); err != nil {
		return err
	}
	// Each lone 429 and each limit read is logged at info: a run that misses
	// a target keeps its sidecars' logs (below).
	var started []*sidecar
	for i := range *sidecars {
		env := map[string]string{"SYMPHONY_WORKER_ID": fmt.Sprintf("bench-%d", i+1), "SYMPHONY_LOG_LEVEL": "info"}
		for k, v := range fake.env {
			env[k] = v
		}
		sc, err := startSidecar(ctx, *bin, *db, env)
		if err != nil {
			return err
		}
		defer sc.stop()
		started = append(started, sc)
	}
	succeeded := func() (float64, error) {
		var k int
		err := pool.QueryRow(ctx, `select count(*) from symphony.messages where state = 'succeeded'`).Scan(&k)
		return float64(k), err
	}
	took, err := drain(ctx, pool, *n, succeeded)
	if err != nil {
		return err
	}
	accepted, requests := fake.accepted(), fake.requests()
	if other != nil {
		return reportShared(*provider, *n, *limit, *others, *sidecars, took, accepted, requests, other)
	}
	if *concurrency > 0 {
		if !reportConcurrency(fake, *n, *concurrency, *latency, *sidecars, took, accepted, requests) {
			for _, sc := range started {
				sc.keep = true // what the sidecars did is in their logs
			}
		}
		return nil
	}
	refused := requests - accepted
	var learned float64
	var source string
	bucket := "email"
	if *provider == "twilio" {
		bucket = "sms"
	}
	_ = pool.QueryRow(ctx, `select coalesce(learned_per_second, 0)::float8, coalesce(learned_source, '')
		from symphony.rate_limits where name = $1`, bucket).Scan(&learned, &source)
	bySecond := fake.refusedBy()
	early := 0
	if len(bySecond) > 0 {
		early = bySecond[0]
	}
	fmt.Fprintf(os.Stderr, "  %d accepted, %d refused (%d in the first second) in %s; learned %.1f/s from %s\n",
		accepted, refused, early, took.Round(time.Millisecond), learned, source)
	what := fmt.Sprintf("%d sidecars (default settings), %d messages, %s fake allowing %d requests/s (one-second windows) and answering in %s",
		*sidecars, *n, *provider, *limit, *latency)
	used := 100 * float64(accepted) / (took.Seconds() * float64(*limit))
	refusedShare := 100 * float64(refused) / float64(max(requests, 1))
	if *n >= 1000 && (used < 90 || refusedShare > 1) {
		// Issue 16's targets: what the search did is in the sidecars' logs.
		// (Not for the smoke run's 200 messages: its first second, when
		// nothing is known yet, is a fifth of it and misses them always.)
		for _, sc := range started {
			sc.keep = true
		}
	}
	emit(figure{Name: "pacing_" + *provider + "_used", Value: used, Unit: "%",
		Note: "share of the provider's limit used over the whole run, start included; " + what})
	emit(figure{Name: "pacing_" + *provider + "_refused", Value: refusedShare, Unit: "%",
		Note: fmt.Sprintf("requests refused with 429 (%d of %d, %d of them in the first second%s); learned %.1f/s from %s",
			refused, requests, early, refusedLater(bySecond), learned, source)})
	return nil
}

// reportShared reports a run that shared the provider's account with
// another client: the share of what that client left the sidecars used, and
// the requests refused on each side.
func reportShared(provider string, n, limit, others, sidecars int, took time.Duration, accepted, requests int, other *resendfake.Other) error {
	other.Stop()
	otherOK, otherRefused, otherFailed := other.Counts()
	if otherFailed > 0 {
		return fmt.Errorf("the fake answered %d of the other client's requests with neither success nor 429", otherFailed)
	}
	ours := requests - otherOK - otherRefused
	refused := ours - (accepted - otherOK)
	fmt.Fprintf(os.Stderr, "  sidecars: %d accepted, %d refused in %s; the other client: %d accepted, %d refused\n",
		n, refused, took.Round(time.Millisecond), otherOK, otherRefused)
	what := fmt.Sprintf("%d sidecars (default settings), %d messages, %s fake allowing %d requests/s (one-second windows), another client of the account sending %d/s throughout",
		sidecars, n, provider, limit, others)
	emit(figure{Name: "pacing_" + provider + "_shared_used", Value: 100 * float64(n) / took.Seconds() / float64(limit-others), Unit: "%",
		Note: "share of what the other client left used by the sidecars, start included; " + what})
	emit(figure{Name: "pacing_" + provider + "_shared_refused", Value: 100 * float64(refused) / float64(max(ours, 1)), Unit: "%",
		Note: fmt.Sprintf("the sidecars' requests refused with 429 (%d of %d); %s", refused, ours, what)})
	emit(figure{Name: "pacing_" + provider + "_shared_others_refused", Value: 100 * float64(otherRefused) / float64(max(otherOK+otherRefused, 1)), Unit: "%",
		Note: fmt.Sprintf("the other client's requests refused with 429 (%d of %d); %s", otherRefused, otherOK+otherRefused, what)})
	return nil
}

// reportConcurrency reports a run against a fake that limits the requests
// in flight (Twilio's account concurrency): the share of what that limit
// allows at the fake's latency that the sidecars used, and the requests
// refused. It reports whether the run met issue 16's targets (at least 90 %
// used, at most 1 % refused), at 1,000 messages or more.
func reportConcurrency(fake *pacedFake, n, concurrency int, latency time.Duration, sidecars int, took time.Duration, accepted, requests int) bool {
	peak, refused := fake.concurrency()
	most := float64(concurrency) / latency.Seconds()
	fmt.Fprintf(os.Stderr, "  %d accepted, %d refused in %s (%.1f/s of %.0f/s); at most %d in flight\n",
		accepted, refused, took.Round(time.Millisecond), float64(accepted)/took.Seconds(), most, peak)
	what := fmt.Sprintf("%d sidecars (default settings), %d messages, twilio fake allowing %d concurrent requests and answering in %s (at most %.0f/s)",
		sidecars, n, concurrency, latency, most)
	used, refusedShare := 100*float64(accepted)/took.Seconds()/most, 100*float64(refused)/float64(max(requests, 1))
	emit(figure{Name: "pacing_twilio_used", Value: used, Unit: "%",
		Note: "share of what the account's concurrency allows used over the whole run, start included; " + what})
	emit(figure{Name: "pacing_twilio_refused", Value: refusedShare, Unit: "%",
		Note: fmt.Sprintf("requests refused with 429 / 20429 (%d of %d; at most %d in flight); %s", refused, requests, peak, what)})
	return n < 1000 || (used >= 90 && refusedShare <= 1)
}

// refusedLater says when the requests refused after the first second were,
// as "; then 6 at 12 s, 4 at 13 s": the rate search touching the limit
// looks different from pacing that keeps above it.
func refusedLater(bySecond []int) string {
	var b strings.Builder
	for i, n := range bySecond {
		if i == 0 || n == 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("; then ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d at %d s", n, i)
	}
	return b.String()
}
