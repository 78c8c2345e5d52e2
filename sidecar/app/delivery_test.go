package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/app"
	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/providerevents"
	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

// startLogged runs a sidecar like start, keeping its log (info and up) for
// the test to read.
func startLogged(t *testing.T, cfg config.Config) (*sidecar, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	m := &app.Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logs, testWriter{t}), nil))}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sidecar{Main: m, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-s.done:
		t.Fatalf("sidecar exited before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar not ready after 10s")
	}
	t.Cleanup(func() { s.stop(t) })
	return s, &logs
}

// hook posts a webhook request to the sidecar's webhook listener.
func (s *sidecar) hook(t *testing.T, path string, h http.Header, body []byte) (int, string) {
	t.Helper()
	addr := s.WebhookAddr()
	if addr == nil {
		t.Fatal("the webhook listener is not running")
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr.String()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wantCode(t *testing.T, what string, got int, body string, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %d %q, want %d", what, got, body, want)
	}
}

// sent dispatches an email or SMS to each address, waits until all are
// sent, and returns each one's message id and provider id.
func sent(t *testing.T, pool *pgxpool.Pool, kind string, to ...string) (ids []int64, providerIDs []string) {
	t.Helper()
	for _, a := range to {
		payload := `{"to":"` + a + `","from":"me@example.com","subject":"hi","text":"hello"}`
		if kind == "sms.send" {
			payload = `{"to":"` + a + `","body":"hello"}`
		}
		ids = append(ids, dispatchID(t, pool, kind, payload, `{}`))
	}
	waitFor(t, 10*time.Second, "the messages to be sent", func() bool { return countState(t, pool, "succeeded") >= len(to) })
	for _, id := range ids {
		var pid string
		if err := pool.QueryRow(context.Background(), `select result->>'provider_message_id' from symphony.messages where id = $1 and state = 'succeeded'`, id).Scan(&pid); err != nil {
			t.Fatalf("message %d: %v", id, err)
		}
		providerIDs = append(providerIDs, pid)
	}
	return ids, providerIDs
}

// deliveryStatus is the message's result.delivery.status ("" when none).
func deliveryStatus(t *testing.T, pool *pgxpool.Pool, id int64) string {
	t.Helper()
	var s *string
	if err := pool.QueryRow(context.Background(), `select result->'delivery'->>'status' from symphony.messages where id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return ""
	}
	return *s
}

// suppressed is the address's suppression reason and source ("" when none).
func suppressed(t *testing.T, pool *pgxpool.Pool, channel, address string) (reason, source string) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `select reason, source from symphony.suppressions where channel = $1 and address = $2`,
		channel, address).Scan(&reason, &source)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return reason, source
}

func eventCount(t *testing.T, pool *pgxpool.Pool, id int64) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `select count(*) from symphony.delivery_events where message_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A suppression a webhook added stops the next send to that address.
func wantSendStopped(t *testing.T, pool *pgxpool.Pool, kind, to string) {
	t.Helper()
	payload := `{"to":"` + to + `","from":"me@example.com","subject":"again","text":"hello"}`
	if kind == "sms.send" {
		payload = `{"to":"` + to + `","body":"again"}`
	}
	id := dispatchID(t, pool, kind, payload, `{}`)
	var state, by string
	waitFor(t, 10*time.Second, "the send to a suppressed address to finish", func() bool {
		_ = pool.QueryRow(context.Background(), `select state, coalesce(cancelled_by, '') from symphony.messages where id = $1`, id).Scan(&state, &by)
		return state != "pending" && state != "processing"
	})
	if state != "cancelled" || by != "suppression" {
		t.Fatalf("a later %s to %s ended %s (cancelled_by %q); want cancelled by the suppression", kind, to, state, by)
	}
}

func resendEvent(typ, emailID, to, extra string) []byte {
	return []byte(`{"type":"` + typ + `","created_at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","data":{` +
		`"created_at":"2026-11-27T10:00:00.000Z","email_id":"` + emailID + `","from":"me@example.com","to":["` + to +
		`"],"subject":"hi","tags":[]` + extra + `}}`)
}

// Resend → Svix-signed webhooks through the real sidecar: delivered and
// bounced reach the result, the bounce and the complaint reach the suppression
// list, a replay changes nothing, and unsigned, wrongly signed and stale
// requests are refused without effect, logged once each, without the secret.
func TestDelivery_ResendWebhooks(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg, secret := resendWebhookConfig(t, db)
	s, logs := startLogged(t, cfg)
	pool := db.Pool
	ids, pids := sent(t, pool, "email.send", "ok@example.com", "Bounce@Example.com", "complain@example.com")

	post := func(svixID string, body []byte) (int, string) {
		return s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, svixID, time.Now(), body), body)
	}
	code, body := post("msg_delivered", resendEvent("email.delivered", pids[0], "ok@example.com", ""))
	wantCode(t, "delivered", code, body, 200)
	bounce := resendEvent("email.bounced", pids[1], "Bounce@Example.com",
		`,"bounce":{"message":"The recipient's email address does not exist.","subType":"General","type":"Permanent"}`)
	code, body = post("msg_bounced", bounce)
	wantCode(t, "bounced", code, body, 200)
	code, body = post("msg_complained", resendEvent("email.complained", pids[2], "complain@example.com", ""))
	wantCode(t, "complained", code, body, 200)

	if a, b, c := deliveryStatus(t, pool, ids[0]), deliveryStatus(t, pool, ids[1]), deliveryStatus(t, pool, ids[2]); a != "delivered" || b != "bounced" || c != "complained" {
		t.Fatalf("result.delivery: %q %q %q", a, b, c)
	}
	if r, src := suppressed(t, pool, "email", "bounce@example.com"); r != "bounced" || src != "webhook:resend" {
		t.Fatalf("the hard bounce's suppression: %q %q", r, src)
	}
	if r, _ := suppressed(t, pool, "email", "complain@example.com"); r != "complained" {
		t.Fatalf("the complaint's suppression: %q", r)
	}
	if r, _ := suppressed(t, pool, "email", "ok@example.com"); r != "" {
		t.Fatalf("a delivered address is suppressed: %q", r)
	}

	// Svix resends a message with the same svix-id (and a fresh signature).
	code, body = post("msg_bounced", bounce)
	wantCode(t, "a replay", code, body, 200)
	if n := eventCount(t, pool, ids[1]); n != 1 {
		t.Fatalf("a replayed event was recorded %d times", n)
	}

	// Refused, with no effect on ok@example.com.
	complaint := resendEvent("email.complained", pids[0], "ok@example.com", "")
	code, body = s.hook(t, providerevents.ResendPath, http.Header{"Content-Type": {"application/json"}}, complaint)
	wantCode(t, "unsigned", code, body, 401)
	code, body = s.hook(t, providerevents.ResendPath, eventsfake.Resend(eventsfake.NewResendSecret(), "msg_x", time.Now(), complaint), complaint)
	wantCode(t, "signed with another secret", code, body, 403)
	code, body = s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, "msg_x", time.Now().Add(-10*time.Minute), complaint), complaint)
	wantCode(t, "stale", code, body, 403)
	signedOther := eventsfake.Resend(secret, "msg_x", time.Now(), resendEvent("email.opened", pids[0], "ok@example.com", ""))
	code, body = s.hook(t, providerevents.ResendPath, signedOther, complaint)
	wantCode(t, "a signature of another body", code, body, 403)
	code, body = s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, "msg_y", time.Now(), []byte(`{"type":`)), []byte(`{"type":`))
	wantCode(t, "malformed", code, body, 400)
	if st := deliveryStatus(t, pool, ids[0]); st != "delivered" {
		t.Fatalf("a refused request changed the result: %q", st)
	}
	if r, _ := suppressed(t, pool, "email", "ok@example.com"); r != "" {
		t.Fatalf("a refused request suppressed the address: %q", r)
	}
	if n := strings.Count(logs.String(), "delivery webhook rejected"); n != 5 {
		t.Fatalf("%d rejections logged, want one per refused request (5)", n)
	}
	if strings.Contains(logs.String(), strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the signing secret is in the log")
	}

	// Only configured providers have routes, and the public port serves nothing else.
	for _, path := range []string{providerevents.SendGridPath, providerevents.PostmarkPath, providerevents.TwilioStatusPath, "/metrics", "/status"} {
		code, body = s.hook(t, path, nil, []byte(`[]`))
		wantCode(t, path+" on the webhook port", code, body, 404)
	}
	_, metrics := s.get(t, "/metrics")
	for _, line := range []string{
		`symphony_delivery_webhooks_total{outcome="accepted",provider="resend"} 4`,
		`symphony_delivery_webhooks_total{outcome="stale",provider="resend"} 1`,
		`symphony_delivery_webhooks_total{outcome="bad_signature",provider="resend"} 2`,
		`symphony_delivery_webhooks_total{outcome="unauthorized",provider="resend"} 1`,
		`symphony_delivery_events_total{provider="resend",result="duplicate",status="bounced"} 1`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}

	wantSendStopped(t, pool, "email.send", "bounce@example.com")
	wantSendStopped(t, pool, "email.send", "Complain@example.com")
}

// The listener runs only when a webhook is configured; bodies are bounded;
// and 2xx comes only once the events are stored: a database failure answers
// 503, so the provider's retry records the event later.
func TestDelivery_LimitsAndStorage(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	plain := start(t, testConfig(db), newFake(nil), newFake(nil))
	if plain.WebhookAddr() != nil {
		t.Fatal("a sidecar with no webhook configured listens for webhooks")
	}
	_ = plain.stop(t) // the messages below are Resend's

	cfg, secret := resendWebhookConfig(t, db)
	cfg.WorkerID = "webhooks"
	s := start(t, cfg, nil, nil)

	huge := append([]byte(`{"type":"email.delivered","pad":"`), bytes.Repeat([]byte("x"), providerevents.MaxBody)...)
	huge = append(huge, `"}`...)
	code, body := s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, "msg_huge", time.Now(), huge), huge)
	wantCode(t, "a body over the limit", code, body, 413)

	ids, pids := sent(t, db.Pool, "email.send", "late@example.com")
	exec(t, db.Pool, `alter function symphony.record_delivery(text, text, text, text, text, text, timestamptz, text, text, jsonb) rename to record_delivery_away`)
	event := resendEvent("email.bounced", pids[0], "late@example.com", `,"bounce":{"type":"Permanent","subType":"General","message":"no such user"}`)
	code, body = s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, "msg_late", time.Now(), event), event)
	wantCode(t, "the database cannot store it", code, body, 503)
	if st := deliveryStatus(t, db.Pool, ids[0]); st != "" {
		t.Fatalf("a 503 left a result: %q", st)
	}
	exec(t, db.Pool, `alter function symphony.record_delivery_away(text, text, text, text, text, text, timestamptz, text, text, jsonb) rename to record_delivery`)
	code, body = s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, "msg_late", time.Now(), event), event)
	wantCode(t, "the provider's retry", code, body, 200)
	if st := deliveryStatus(t, db.Pool, ids[0]); st != "bounced" {
		t.Fatalf("after the retry: %q", st)
	}
	_, metrics := s.get(t, "/metrics")
	for _, line := range []string{`symphony_delivery_webhooks_total{outcome="error",provider="resend"} 1`,
		`symphony_delivery_webhooks_total{outcome="too_large",provider="resend"} 1`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// Resend's email.suppressed says why in data.suppressed: the reason reaches
// the message's history and result, and the address our suppression list.
func TestDelivery_ResendSuppressedHasItsReason(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	cfg, secret := resendWebhookConfig(t, db)
	s := start(t, cfg, nil, nil)
	ids, pids := sent(t, db.Pool, "email.send", "gone@example.com")
	event := resendEvent("email.suppressed", pids[0], "gone@example.com", `,"suppressed":{"diagnosticCode":[],`+
		`"message":"This address previously bounced.","reason":"previous_bounce","type":"OnAccountSuppressionList"}`)
	code, body := s.hook(t, providerevents.ResendPath, eventsfake.Resend(secret, "msg_suppressed", time.Now(), event), event)
	wantCode(t, "email.suppressed", code, body, 200)
	var reason, resultReason string
	if err := db.Pool.QueryRow(context.Background(), `select e.reason, m.result->'delivery'->>'reason'
		  from symphony.delivery_events e join symphony.messages m on m.id = e.message_id where e.message_id = $1`, ids[0]).Scan(&reason, &resultReason); err != nil {
		t.Fatal(err)
	}
	if want := "OnAccountSuppressionList previous_bounce: This address previously bounced."; reason != want || resultReason != want {
		t.Fatalf("delivery_events.reason %q, result.delivery.reason %q; want %q", reason, resultReason, want)
	}
	if r, src := suppressed(t, db.Pool, "email", "gone@example.com"); r != "bounced" || src != "webhook:resend" {
		t.Fatalf("suppression %q %q; want bounced by webhook:resend", r, src)
	}
}

// resendWebhookConfig is a sidecar configuration that sends email through a
// Resend fake (closed when the test ends) and takes Resend's signed webhooks
// with a fresh secret, which it returns for signing test requests.
func resendWebhookConfig(t *testing.T, db *pgtest.DB) (config.Config, string) {
	t.Helper()
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	secret := eventsfake.NewResendSecret()
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, fake.URL()
	cfg.WebhookAddr, cfg.Providers.ResendWebhookSecret = "127.0.0.1:0", secret
	return cfg, secret
}
