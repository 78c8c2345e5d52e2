package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid/sendgridfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
	"github.com/symphonymessenger/symphony/sidecar/providerevents"
	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

// SendGrid's Signed Event Webhook: one batch with every delivery event, for
// messages sent through the SendGrid fake (sg_message_id is the X-Message-Id
// plus the receiving server's suffix), and one for an email Symphony never
// sent. Retries are re-signed and change nothing; a foreign key's signature,
// a missing one and a stale one are refused.
func TestDelivery_SendGridWebhooks(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := sendgridfake.New(sendgridfake.Options{})
	t.Cleanup(fake.Close)
	key, public := eventsfake.NewSendGridKey()
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.SendGridAPIKey, cfg.Providers.SendGridURL = "sendgrid", sendgridfake.DefaultAPIKey, fake.URL()
	cfg.WebhookAddr, cfg.Providers.SendGridWebhookPublicKey = "127.0.0.1:0", public
	s := start(t, cfg, nil, nil)
	pool := db.Pool
	ids, pids := sent(t, pool, "email.send", "ok@example.com", "bounce@example.com", "spam@example.com", "blocked@example.com")

	ts := time.Now().Unix() - 60
	ev := func(i int, email, event, extra string) string {
		return fmt.Sprintf(`{"email":%q,"timestamp":%d,"smtp-id":"<%s@ismtpd0001p1lon1.sendgrid.net>","event":%q,"category":["welcome"],`+
			`"sg_event_id":"ZGVsaXZlcmVkLTAtMjQ5%d","sg_message_id":"%s.filterdrecv-p3las1-5bf99c48d-hkdlq-18-5F5FC76C-9.0"%s}`,
			email, ts+int64(i), pids[min(i, len(pids)-1)], event, i, pids[min(i, len(pids)-1)], extra)
	}
	batch := []byte("[" + strings.Join([]string{
		ev(0, "ok@example.com", "processed", ""),
		ev(0, "ok@example.com", "delivered", `,"response":"250 OK","ip":"168.1.1.1","tls":1`),
		ev(1, "bounce@example.com", "bounce", `,"type":"bounce","status":"5.1.1","reason":"550 5.1.1 The email account that you tried to reach does not exist"`),
		ev(2, "spam@example.com", "spamreport", ""),
		ev(3, "blocked@example.com", "bounce", `,"type":"blocked","status":"5.0.0","reason":"550 blocked by policy"`),
		`{"email":"Stranger@Example.com","timestamp":1764237600,"event":"bounce","type":"bounce","reason":"550 unknown user","sg_event_id":"s1","sg_message_id":"NotOursAtAll123.filterdrecv-1"}`,
		ev(0, "ok@example.com", "open", `,"useragent":"Mozilla/5.0"`),
	}, ",") + "]")
	code, body := s.hook(t, providerevents.SendGridPath, eventsfake.SendGrid(key, time.Now(), batch), batch)
	wantCode(t, "a signed batch", code, body, 200)

	for i, want := range []string{"delivered", "bounced", "complained", "undelivered"} {
		if got := deliveryStatus(t, pool, ids[i]); got != want {
			t.Errorf("message %d: result.delivery.status %q, want %q", i, got, want)
		}
	}
	for addr, want := range map[string]string{"bounce@example.com": "bounced", "spam@example.com": "complained",
		"stranger@example.com": "bounced", "blocked@example.com": "", "ok@example.com": ""} {
		if got, _ := suppressed(t, pool, "email", addr); got != want {
			t.Errorf("%s suppressed %q, want %q", addr, got, want)
		}
	}

	// SendGrid retries a batch it got no 2xx for, signed anew.
	code, body = s.hook(t, providerevents.SendGridPath, eventsfake.SendGrid(key, time.Now(), batch), batch)
	wantCode(t, "a retried batch", code, body, 200)
	if n := eventCount(t, pool, ids[0]); n != 2 {
		t.Fatalf("message 0 has %d events after a retry, want 2 (processed, delivered)", n)
	}

	late := []byte("[" + ev(0, "ok@example.com", "deferred", `,"response":"400 try again","attempt":"1"`) + "]")
	other, _ := eventsfake.NewSendGridKey()
	code, body = s.hook(t, providerevents.SendGridPath, eventsfake.SendGrid(other, time.Now(), late), late)
	wantCode(t, "signed with another key", code, body, 403)
	code, body = s.hook(t, providerevents.SendGridPath, http.Header{"Content-Type": {"application/json"}}, late)
	wantCode(t, "unsigned", code, body, 401)
	code, body = s.hook(t, providerevents.SendGridPath, eventsfake.SendGrid(key, time.Now().Add(-time.Hour), late), late)
	wantCode(t, "stale", code, body, 403)
	// A deferral arriving after the delivery does not undo it.
	code, body = s.hook(t, providerevents.SendGridPath, eventsfake.SendGrid(key, time.Now(), late), late)
	wantCode(t, "a late deferral", code, body, 200)
	if got := deliveryStatus(t, pool, ids[0]); got != "delivered" {
		t.Fatalf("after a late deferral: %q", got)
	}

	_, metrics := s.get(t, "/metrics")
	if line := `symphony_delivery_events_total{provider="sendgrid",result="unknown",status="bounced"} 2`; !strings.Contains(metrics, line) {
		t.Errorf("/metrics lacks %s (the stranger's bounce, twice)", line)
	}
	wantSendStopped(t, pool, "email.send", "bounce@example.com")
}

// Postmark: Basic credentials instead of a signature. Delivery, HardBounce,
// SpamComplaint and a late SoftBounce, through the real sidecar, for messages
// sent through the Postmark fake; wrong or missing credentials get 401.
func TestDelivery_PostmarkWebhooks(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := postmarkfake.New(postmarkfake.Options{})
	t.Cleanup(fake.Close)
	user, pass := "postmark-hooks", "d6f1c3a9b2e84f70a1c5e9d3b7f20c4e"
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, fake.URL()
	cfg.WebhookAddr, cfg.Providers.PostmarkWebhookUser, cfg.Providers.PostmarkWebhookPassword = "127.0.0.1:0", user, pass
	s := start(t, cfg, nil, nil)
	pool := db.Pool
	ids, pids := sent(t, pool, "email.send", "ok@example.com", "bounce@example.com", "spam@example.com")
	auth := eventsfake.Postmark(user, pass)

	delivered := []byte(`{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"` + pids[0] +
		`","Recipient":"ok@example.com","Tag":"welcome","DeliveredAt":"2026-11-27T10:00:05Z","Details":"smtp;250 2.0.0 OK","Metadata":{}}`)
	hard := []byte(`{"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,` +
		`"Name":"Hard bounce","MessageID":"` + pids[1] + `","ServerID":23,"Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).",` +
		`"Details":"smtp;550 5.1.1 unknown user","Email":"bounce@example.com","From":"me@example.com","BouncedAt":"2026-11-27T10:00:06Z",` +
		`"DumpAvailable":true,"Inactive":true,"CanActivate":true,"Subject":"hi"}`)
	spam := []byte(`{"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,"Type":"SpamComplaint","TypeCode":512,` +
		`"Name":"Spam complaint","MessageID":"` + pids[2] + `","ServerID":23,"Email":"spam@example.com","From":"me@example.com",` +
		`"BouncedAt":"2026-11-27T11:00:00Z","Inactive":true,"CanActivate":false,"Subject":"hi"}`)
	soft := []byte(`{"RecordType":"Bounce","ID":43,"Type":"SoftBounce","TypeCode":4096,"MessageID":"` + pids[0] +
		`","Email":"ok@example.com","BouncedAt":"2026-11-27T10:00:01Z","Inactive":false,"Description":"mailbox full"}`)
	for name, b := range map[string][]byte{"delivery": delivered, "hard bounce": hard, "spam complaint": spam, "late soft bounce": soft} {
		code, body := s.hook(t, providerevents.PostmarkPath, auth, b)
		wantCode(t, name, code, body, 200)
	}
	for i, want := range []string{"delivered", "bounced", "complained"} {
		if got := deliveryStatus(t, pool, ids[i]); got != want {
			t.Errorf("message %d: %q, want %q", i, got, want)
		}
	}
	if n := eventCount(t, pool, ids[0]); n != 2 {
		t.Errorf("message 0 has %d events, want the delivery and the soft bounce", n)
	}
	for addr, want := range map[string]string{"bounce@example.com": "bounced", "spam@example.com": "complained", "ok@example.com": ""} {
		if got, src := suppressed(t, pool, "email", addr); got != want || (want != "" && src != "webhook:postmark") {
			t.Errorf("%s suppressed %q by %q, want %q", addr, got, src, want)
		}
	}

	code, body := s.hook(t, providerevents.PostmarkPath, http.Header{"Content-Type": {"application/json"}}, hard)
	wantCode(t, "no credentials", code, body, 401)
	code, body = s.hook(t, providerevents.PostmarkPath, eventsfake.Postmark(user, pass[:len(pass)-1]+"x"), hard)
	wantCode(t, "a wrong password", code, body, 401)
	code, body = s.hook(t, providerevents.PostmarkPath, auth, []byte(`{"MessageID":"x"}`))
	wantCode(t, "no RecordType", code, body, 400)

	wantSendStopped(t, pool, "email.send", "spam@example.com")
}

// Twilio: status callbacks and inbound STOP/START, signed over the public URL
// Twilio calls (the sidecar sits behind a proxy and sees another host).
func TestDelivery_TwilioWebhooks(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s, fake := startTwilio(t, db)
	pool := db.Pool
	ids, sids := sent(t, pool, "sms.send", "+14155550101", "+14155550102")
	for _, m := range fake.Messages() {
		if m.StatusCallback != twilioPublic+providerevents.TwilioStatusPath {
			t.Fatalf("sent with StatusCallback %q", m.StatusCallback)
		}
	}

	callback := func(sid, to, status, code string) (int, string) {
		f := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {twiliofake.DefaultAccountSID}, "From": {"+14155550000"},
			"To": {to}, "MessageStatus": {status}, "SmsStatus": {status}, "ApiVersion": {"2010-04-01"}}
		if code != "" {
			f.Set("ErrorCode", code)
		}
		return s.hook(t, providerevents.TwilioStatusPath, eventsfake.Twilio(twiliofake.DefaultAuthToken, twilioPublic+providerevents.TwilioStatusPath, f), []byte(f.Encode()))
	}
	for _, c := range []struct{ sid, to, status, code string }{
		{sids[0], "+14155550101", "sent", ""}, {sids[0], "+14155550101", "delivered", ""},
		{sids[1], "+14155550102", "sent", ""}, {sids[1], "+14155550102", "undelivered", "21610"},
		{sids[0], "+14155550101", "sent", ""}, // a late, repeated "sent"
	} {
		code, body := callback(c.sid, c.to, c.status, c.code)
		wantCode(t, c.status, code, body, 200)
	}
	if a, b := deliveryStatus(t, pool, ids[0]), deliveryStatus(t, pool, ids[1]); a != "delivered" || b != "undelivered" {
		t.Fatalf("result.delivery: %q %q", a, b)
	}
	if r, src := suppressed(t, pool, "sms", "+14155550102"); r != "stop" || src != "webhook:twilio" {
		t.Fatalf("21610 suppression: %q %q", r, src)
	}

	inbound := func(from, text string) (int, string) {
		return s.twilioInbound(t, "SMin"+strings.TrimPrefix(from, "+")+text, from, text)
	}
	code, body := inbound("+14155550103", "Stop")
	wantCode(t, "inbound STOP", code, body, 200)
	if !strings.Contains(body, "<Response></Response>") {
		t.Fatalf("inbound answered %q, want empty TwiML", body)
	}
	if r, _ := suppressed(t, pool, "sms", "+14155550103"); r != "stop" {
		t.Fatalf("STOP: suppressed %q", r)
	}
	wantSendStopped(t, pool, "sms.send", "+14155550103")
	code, body = inbound("+14155550103", "START")
	wantCode(t, "inbound START", code, body, 200)
	if r, _ := suppressed(t, pool, "sms", "+14155550103"); r != "" {
		t.Fatalf("START left the number suppressed (%q)", r)
	}

	f := url.Values{"MessageSid": {sids[0]}, "MessageStatus": {"failed"}, "ErrorCode": {"30005"}, "To": {"+14155550101"}}
	code, body = s.hook(t, providerevents.TwilioStatusPath, eventsfake.Twilio(twiliofake.DefaultAuthToken,
		"http://"+s.WebhookAddr().String()+providerevents.TwilioStatusPath, f), []byte(f.Encode()))
	wantCode(t, "signed over the address the sidecar sees, not the public URL", code, body, 403)
	code, body = s.hook(t, providerevents.TwilioStatusPath, eventsfake.Twilio("another-token", twilioPublic+providerevents.TwilioStatusPath, f), []byte(f.Encode()))
	wantCode(t, "signed with another token", code, body, 403)
	code, body = s.hook(t, providerevents.TwilioStatusPath, nil, []byte(f.Encode()))
	wantCode(t, "unsigned", code, body, 401)
	if r, _ := suppressed(t, pool, "sms", "+14155550101"); r != "" || deliveryStatus(t, pool, ids[0]) != "delivered" {
		t.Fatalf("a refused callback had an effect: suppressed %q", r)
	}
	wantSendStopped(t, pool, "sms.send", "+14155550102")
}

// twilioPublic is the URL Twilio calls in these tests; the sidecar sees another.
const twilioPublic = "https://sidecar.example.com"

// startTwilio runs a sidecar sending SMS through a Twilio fake, with Twilio's
// webhooks on.
func startTwilio(t *testing.T, db *pgtest.DB) (*sidecar, *twiliofake.Server) {
	t.Helper()
	fake := twiliofake.New(twiliofake.Options{})
	t.Cleanup(fake.Close)
	cfg := testConfig(db)
	cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", fake.URL(), "+14155550000"
	cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
	cfg.WebhookAddr, cfg.PublicURL = "127.0.0.1:0", twilioPublic
	cfg.Providers.TwilioStatusURL = twilioPublic + providerevents.TwilioStatusPath // what config.FromEnv defaults it to
	return start(t, cfg, nil, nil), fake
}

// twilioInbound posts an incoming message as Twilio does, signed.
func (s *sidecar) twilioInbound(t *testing.T, sid, from, text string) (int, string) {
	t.Helper()
	f := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {twiliofake.DefaultAccountSID},
		"From": {from}, "To": {"+14155550000"}, "Body": {text}, "NumMedia": {"0"}, "NumSegments": {"1"}}
	return s.hook(t, providerevents.TwilioInboundPath,
		eventsfake.Twilio(twiliofake.DefaultAuthToken, twilioPublic+providerevents.TwilioInboundPath, f), []byte(f.Encode()))
}

// Opt-outs and opt-ins apply in the order they happened, once: Twilio signs
// no timestamp, so a START posted again after a later STOP (a replay, or a
// provider's retry) must not lift that STOP.
func TestDelivery_TwilioOptOutsInOrder(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s, _ := startTwilio(t, db)
	const number = "+14155550131"
	for i, c := range []struct{ sid, text string }{
		{"SMopt1", "STOP"}, {"SMopt2", "START"}, {"SMopt3", "STOP"},
		{"SMopt2", "START"}, // the first START again, byte for byte, validly signed
	} {
		code, body := s.twilioInbound(t, c.sid, number, c.text)
		wantCode(t, fmt.Sprintf("message %d (%s)", i+1, c.text), code, body, 200)
	}
	if r, _ := suppressed(t, db.Pool, "sms", number); r != "stop" {
		t.Fatalf("after STOP, START, STOP and the START replayed, the number's suppression is %q; want stop", r)
	}
	wantSendStopped(t, db.Pool, "sms.send", number)
	_, metrics := s.get(t, "/metrics")
	if line := `symphony_delivery_events_total{provider="twilio",result="duplicate",status="opt_in"} 1`; !strings.Contains(metrics, line) {
		t.Errorf("/metrics lacks %s", line)
	}
}
