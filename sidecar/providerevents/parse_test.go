package providerevents

import (
	"net/url"
	"testing"
	"time"
)

// Bodies shaped like the providers' documented examples.

func TestParseResend(t *testing.T) {
	t.Parallel()
	now := time.Now()
	r := request(ResendPath, nil, nil)
	r.Header.Set("svix-id", "msg_2")
	cases := []struct {
		name, body       string
		status, suppress string
		n                int
	}{
		{"Delivered", `{"type":"email.delivered","created_at":"2026-11-27T10:00:00.000Z","data":{"created_at":"2026-11-27T09:59:58Z","email_id":"4ef9a417-02e9-4d39-ad75-9611e0fcc33c","from":"Acme <hi@acme.test>","to":["a@example.com"],"subject":"Welcome"}}`, Delivered, "", 1},
		{"HardBounce", `{"type":"email.bounced","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","to":["a@example.com","b@example.com"],"bounce":{"message":"The recipient's email address does not exist.","subType":"General","type":"Permanent"}}}`, Bounced, SuppressBounced, 2},
		{"TransientBounce", `{"type":"email.bounced","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","to":["a@example.com"],"bounce":{"message":"Mailbox full","subType":"MailboxFull","type":"Transient"}}}`, Delayed, "", 1},
		{"Complained", `{"type":"email.complained","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","to":["a@example.com"]}}`, Complained, SuppressComplained, 1},
		{"Delayed", `{"type":"email.delivery_delayed","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","to":["a@example.com"]}}`, Delayed, "", 1},
		{"Opened", `{"type":"email.opened","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","to":["a@example.com"]}}`, "", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := parseResend(r, []byte(c.body), now)
			if err != nil || len(evs) != c.n {
				t.Fatalf("%d events, %v; want %d", len(evs), err, c.n)
			}
			for _, e := range evs {
				if e.Status != c.status || e.Suppress != c.suppress || e.MessageID == "" || e.Key == "" ||
					!e.At.Equal(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)) {
					t.Fatalf("%+v: want status %q suppress %q at the event's created_at", e, c.status, c.suppress)
				}
			}
			if c.n == 2 && evs[0].Key == evs[1].Key {
				t.Fatal("two recipients of one event share a key")
			}
		})
	}
	// email.suppressed says why in data.suppressed, not data.failed (Resend's
	// EmailSuppressedEvent); the address is on Resend's own suppression list, so
	// ours follows it, as with SendGrid's drops.
	for _, c := range []struct{ reason, suppress, want string }{
		{"previous_bounce", SuppressBounced, "OnAccountSuppressionList previous_bounce: The recipient's address is on the suppression list."},
		{"previous_complaint", SuppressComplained, "OnAccountSuppressionList previous_complaint: The recipient's address is on the suppression list."},
	} {
		body := `{"type":"email.suppressed","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","created_at":"2026-11-27T09:59:00Z",` +
			`"from":"me@example.com","to":["a@example.com"],"subject":"hi","suppressed":{"diagnosticCode":[],` +
			`"message":"The recipient's address is on the suppression list.","reason":"` + c.reason + `","type":"OnAccountSuppressionList"}}}`
		evs, err := parseResend(r, []byte(body), now)
		if err != nil || len(evs) != 1 {
			t.Fatalf("email.suppressed: %v %+v", err, evs)
		}
		if e := evs[0]; e.Status != Undelivered || e.Reason != c.want || e.Suppress != c.suppress {
			t.Fatalf("email.suppressed (%s): %+v; want undelivered, reason %q, suppress %q", c.reason, e, c.want, c.suppress)
		}
	}
	failed := `{"type":"email.failed","created_at":"2026-11-27T10:00:00Z","data":{"email_id":"e","to":["a@example.com"],"failed":{"reason":"reached_daily_quota"}}}`
	if evs, err := parseResend(r, []byte(failed), now); err != nil || len(evs) != 1 || evs[0].Reason != "reached_daily_quota" || evs[0].Suppress != "" {
		t.Fatalf("email.failed: %v %+v", err, evs)
	}
	if _, err := parseResend(r, []byte(`{"type":"email.bounced","data":{}}`), now); err == nil {
		t.Fatal("a bounce without email_id is accepted")
	}
	if _, err := parseResend(r, []byte(`[1,2]`), now); err == nil {
		t.Fatal("a non-object is accepted")
	}
}

func TestParseSendGrid(t *testing.T) {
	t.Parallel()
	body := `[
 {"email":"a@example.com","timestamp":1764237600,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":"cat facts","sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000"},
 {"email":"a@example.com","timestamp":1764237601,"event":"deferred","response":"400 try again later","attempt":"5","sg_event_id":"x1","sg_message_id":"W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-5bf99c48d-hkdlq-18-5F5FC76C-9.0"},
 {"email":"a@example.com","timestamp":1764237602,"event":"delivered","response":"250 OK","sg_event_id":"x2","sg_message_id":"W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-5bf99c48d-hkdlq-18-5F5FC76C-9.0"},
 {"email":"b@example.com","timestamp":1764237603,"event":"bounce","type":"bounce","reason":"550 5.1.1 The email account that you tried to reach does not exist","status":"5.1.1","sg_event_id":"x3","sg_message_id":"W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-5bf99c48d-hkdlq-18-5F5FC76C-9.0"},
 {"email":"c@example.com","timestamp":1764237604,"event":"bounce","type":"blocked","reason":"550 blocked","sg_event_id":"x4","sg_message_id":"kpuNK9g3S8uwTe_pH3GI_A.recvd-5f9bbbfb5c-8mf6d-1-60B6B8C3-2.0"},
 {"email":"d@example.com","timestamp":1764237605,"event":"dropped","reason":"Bounced Address","sg_event_id":"x5","sg_message_id":"DROP1.filter0001"},
 {"email":"e@example.com","timestamp":1764237606,"event":"spamreport","sg_event_id":"x6","sg_message_id":"SPAM1.filter0001"},
 {"email":"e@example.com","timestamp":1764237607,"event":"open","sg_event_id":"x7","sg_message_id":"SPAM1.filter0001","useragent":"Mozilla/4.0"}
]`
	evs, err := parseSendGrid(nil, []byte(body), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, status, suppress string }{
		{"14c5d75ce93.dfd.64b469", Sent, ""},
		{"W86EgYT6SQKk0lRflfLRsA", Delayed, ""},
		{"W86EgYT6SQKk0lRflfLRsA", Delivered, ""},
		{"W86EgYT6SQKk0lRflfLRsA", Bounced, SuppressBounced},
		{"kpuNK9g3S8uwTe_pH3GI_A", Undelivered, ""},
		{"DROP1", Undelivered, SuppressBounced},
		{"SPAM1", Complained, SuppressComplained},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d (the open is ignored)", len(evs), len(want))
	}
	for i, w := range want {
		e := evs[i]
		if e.MessageID != w.id || e.Status != w.status || e.Suppress != w.suppress || e.At.Unix() != int64(1764237600+i) {
			t.Errorf("event %d: %+v; want %+v", i, e, w)
		}
	}
	if _, err := parseSendGrid(nil, []byte(`{"event":"delivered"}`), time.Now()); err == nil {
		t.Fatal("an object instead of an array is accepted")
	}
}

func TestParsePostmark(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, status, suppress string
	}{
		{"Delivery", `{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"2026-11-27T10:00:00Z","Details":"Test delivery webhook details","Metadata":{}}`, Delivered, ""},
		{"HardBounce", `{"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,"Name":"Hard bounce","Tag":"Test","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":23,"Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).","Details":"Test bounce details","Email":"john@example.com","From":"sender@example.com","BouncedAt":"2026-11-27T10:00:00Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,"Subject":"Test subject","Content":"<Full dump of bounce>"}`, Bounced, SuppressBounced},
		{"SoftBounce", `{"RecordType":"Bounce","ID":42,"Type":"SoftBounce","TypeCode":4096,"MessageID":"m","Email":"john@example.com","BouncedAt":"2026-11-27T10:00:00Z","Inactive":false}`, Delayed, ""},
		{"SpamComplaint", `{"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,"Type":"SpamComplaint","TypeCode":512,"Name":"Spam complaint","MessageID":"m","Email":"john@example.com","BouncedAt":"2026-11-27T10:00:00Z","Inactive":true}`, Complained, SuppressComplained},
		{"SubscriptionChange", `{"RecordType":"SubscriptionChange","MessageID":"m","ServerID":23,"ChangedAt":"2026-11-27T10:00:00Z","Recipient":"john@example.com","Origin":"Recipient","SuppressSending":true,"SuppressionReason":"ManualSuppression"}`, OptOut, SuppressUnsubscribed},
		{"Open", `{"RecordType":"Open","MessageID":"m","Recipient":"john@example.com","ReceivedAt":"2026-11-27T10:00:00Z"}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := parsePostmark(nil, []byte(c.body), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if c.status == "" {
				if len(evs) != 0 {
					t.Fatalf("%+v: want nothing recorded", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].Status != c.status || evs[0].Suppress != c.suppress || evs[0].Recipient != "john@example.com" ||
				!evs[0].At.Equal(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)) {
				t.Fatalf("%+v: want %s, suppress %q", evs, c.status, c.suppress)
			}
		})
	}
	if _, err := parsePostmark(nil, []byte(`{"MessageID":"m"}`), time.Now()); err == nil {
		t.Fatal("a body without RecordType is accepted")
	}
}

func TestParseTwilio(t *testing.T) {
	t.Parallel()
	status := func(st, code string) []Event {
		t.Helper()
		f := url.Values{"MessageSid": {"SM0123"}, "SmsSid": {"SM0123"}, "MessageStatus": {st}, "SmsStatus": {st},
			"To": {"+14155550100"}, "From": {"+14155550199"}, "AccountSid": {"AC0"}, "ApiVersion": {"2010-04-01"}}
		if code != "" {
			f.Set("ErrorCode", code)
		}
		evs, err := parseTwilioStatus(nil, []byte(f.Encode()), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	if e := status("delivered", ""); len(e) != 1 || e[0].Status != Delivered || e[0].Recipient != "+14155550100" || e[0].MessageID != "SM0123" {
		t.Fatalf("delivered: %+v", e)
	}
	if e := status("undelivered", "21610"); len(e) != 1 || e[0].Status != Undelivered || e[0].Suppress != SuppressStop || e[0].Reason != "21610" {
		t.Fatalf("undelivered 21610: %+v", e)
	}
	if e := status("failed", "30006"); len(e) != 1 || e[0].Suppress != SuppressBounced {
		t.Fatalf("failed 30006 (landline): %+v", e)
	}
	if e := status("undelivered", "30003"); len(e) != 1 || e[0].Suppress != "" {
		t.Fatalf("undelivered 30003 (phone off) must not suppress: %+v", e)
	}
	if e := status("queued", ""); len(e) != 0 {
		t.Fatalf("queued: %+v", e)
	}
	if d, u := status("delivered", ""), status("undelivered", "30003"); d[0].Key == u[0].Key {
		t.Fatal("two statuses of one message share a key")
	}

	inbound := func(f url.Values) []Event {
		t.Helper()
		f.Set("MessageSid", "SMin1")
		f.Set("From", "+14155550100")
		f.Set("To", "+14155550199")
		evs, err := parseTwilioInbound(nil, []byte(f.Encode()), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	if e := inbound(url.Values{"Body": {" stop "}}); len(e) != 1 || e[0].Status != OptOut || e[0].Suppress != SuppressStop || e[0].Recipient != "+14155550100" {
		t.Fatalf("STOP: %+v", e)
	}
	if e := inbound(url.Values{"Body": {"Arrêt"}, "OptOutType": {"STOP"}}); len(e) != 1 || e[0].Status != OptOut {
		t.Fatalf("an Advanced Opt-Out keyword: %+v", e)
	}
	if e := inbound(url.Values{"Body": {"START"}}); len(e) != 1 || e[0].Status != OptIn {
		t.Fatalf("START: %+v", e)
	}
	if e := inbound(url.Values{"Body": {"please stop texting me"}}); len(e) != 0 {
		t.Fatalf("a sentence is no keyword (Twilio does not act on it either): %+v", e)
	}
}
