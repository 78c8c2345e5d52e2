package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// badDispatch is one malformed dispatch and the error it must get at insert:
// its SQLSTATE and a fragment of the message, which names the field.
type badDispatch struct {
	name    string
	sql     string // $1 kind, $2 payload (text, parsed by the server)
	kind    string
	payload string
	code    string
	names   string
}

const insertSQL = `insert into symphony.messages (kind, payload) values ($1, $2::jsonb)`

func email(fields string) string {
	return `{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"` + fields + `}`
}

func badDispatches() []badDispatch {
	ins := func(name, kind, payload, code, names string) badDispatch {
		return badDispatch{name: name, sql: insertSQL, kind: kind, payload: payload, code: code, names: names}
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf(`"u%d@example.com"`, i)
	}
	return []badDispatch{
		// Missing fields.
		ins("email without to", "email.send", `{"from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to" is required`),
		ins("email without from", "email.send", `{"to":"a@example.com","subject":"s","text":"t"}`, "22023", `"from" is required`),
		ins("email without subject", "email.send", `{"to":"a@example.com","from":"me@example.com","text":"t"}`, "22023", `"subject" is required`),
		ins("email without body", "email.send", `{"to":"a@example.com","from":"me@example.com","subject":"s"}`, "22023", `"html" or "text" is required`),
		ins("sms without to", "sms.send", `{"body":"hi"}`, "22023", `"to" is required`),
		ins("sms without body", "sms.send", `{"to":"+14155550100"}`, "22023", `"body" is required`),
		// Wrong JSON types.
		ins("to is a number", "email.send", `{"to":7,"from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to" must be an email address or an array of them, got number`),
		ins("to holds a number", "email.send", `{"to":[1],"from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to[0]" must be a string, got number`),
		ins("subject is an object", "email.send", `{"to":"a@example.com","from":"me@example.com","subject":{},"text":"t"}`, "22023", `"subject" must be a string, got object`),
		ins("sms body is a bool", "sms.send", `{"to":"+14155550100","body":true}`, "22023", `"body" must be a string, got boolean`),
		ins("payload is an array", "email.send", `[]`, "22023", `payload must be a JSON object, got array`),
		ins("payload is a string", "sms.send", `"hi"`, "22023", `payload must be a JSON object, got string`),
		ins("payload is not JSON", "email.send", `{"to":`, "22P02", `invalid input syntax for type json`),
		ins("tags is a list", "email.send", email(`,"tags":["a"]`), "22023", `"tags" must be an object`),
		ins("unknown field", "email.send", email(`,"txt":"typo"`), "22023", `"txt" is not a field of email.send`),
		ins("tag value Resend refuses", "email.send", email(`,"tags":{"campaign":"spring sale!"}`), "22023", `"tags.campaign" value must use only`),
		ins("reserved header", "email.send", email(`,"headers":{"Bcc":"x@example.com"}`), "22023", `"headers.Bcc" is reserved`),
		ins("comma in a display name", "email.send", email(`,"cc":"Doe, John <j@example.com>"`), "22023", `"cc" is not an email address`),
		// Invalid addresses and numbers.
		ins("to is not an address", "email.send", `{"to":"bob","from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to" is not an email address: bob`),
		ins("to has no domain dot", "email.send", `{"to":"bob@localhost","from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to" is not an email address`),
		ins("to is HTML", "email.send", `{"to":"<script>alert(1)</script>@example.com","from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to" is not an email address`),
		ins("from is not an address", "email.send", `{"to":"a@example.com","from":"me","subject":"s","text":"t"}`, "22023", `"from" is not an email address`),
		ins("cc is not an address", "email.send", email(`,"cc":["ok@example.com","nope"]`), "22023", `"cc" is not an email address: nope`),
		ins("51 recipients", "email.send", `{"to":[`+strings.Join(many, ",")+`],"from":"me@example.com","subject":"s","text":"t"}`, "22023", `"to" has 51 addresses`),
		ins("number without +", "sms.send", `{"to":"4155550100","body":"hi"}`, "22023", `"to" must be an E.164 phone number`),
		ins("number with spaces", "sms.send", `{"to":"+1 415 555 0100","body":"hi"}`, "22023", `"to" must be an E.164 phone number`),
		ins("number starting +0", "sms.send", `{"to":"+0155550100","body":"hi"}`, "22023", `"to" must be an E.164 phone number`),
		ins("number too long", "sms.send", `{"to":"+14155550100123456","body":"hi"}`, "22023", `"to" is 18 characters long`),
		ins("sender ID too long", "sms.send", `{"to":"+14155550100","body":"hi","from":"AcmeCorporation"}`, "22023", `"from" as an alphanumeric sender ID is at most 11`),
		// Empty and oversized bodies, header injection.
		ins("empty sms body", "sms.send", `{"to":"+14155550100","body":"  "}`, "22023", `"body" must not be empty`),
		ins("sms body of 1601", "sms.send", `{"to":"+14155550100","body":"`+strings.Repeat("x", 1601)+`"}`, "22023", `"body" is 1601 characters long; at most 1600`),
		ins("empty email body", "email.send", `{"to":"a@example.com","from":"me@example.com","subject":"s","text":"","html":""}`, "22023", `"html" or "text" is required`),
		ins("subject with a line break", "email.send", `{"to":"a@example.com","from":"me@example.com","subject":"hi\r\nBcc: victim@example.com","text":"t"}`, "22023", `"subject" must not contain line breaks`),
		ins("header with a line break", "email.send", email(`,"headers":{"X-A":"v\nBcc: x@example.com"}`), "22023", `"headers.X-A" must not contain line breaks`),
		ins("attachment path", "email.send", email(`,"attachments":[{"filename":"../../etc/passwd","content":"aGk="}]`), "22023", `.filename`),
		// Huge payloads: refused by size, before any field is looked at.
		ins("payload over 256 KiB", "email.send", email(`,"html":"`+strings.Repeat("<p>x</p>", 40000)+`"`), "54000", `email.send payload is 320`),
		// Unknown kinds, including one that looks like SQL.
		ins("unknown kind", "email.sned", email(""), "22023", `unknown message kind 'email.sned'`),
		ins("kind that looks like SQL", "email.send'); drop table symphony.messages; --", email(""), "22023", `unknown message kind 'email.send''); drop table symphony.messages; --'`),
		// NUL bytes: PostgreSQL text cannot hold them, so they never reach a row.
		ins("NUL escape in a string", "email.send", `{"to":"a@example.com","from":"me@example.com","subject":"a\u0000b","text":"t"}`, "22P05", `unsupported Unicode escape sequence`),
		ins("raw NUL in the kind", "email.send\x00", email(""), "22021", `invalid byte sequence for encoding "UTF8": 0x00`),
		// Through dispatch(): options are checked too.
		{name: "unknown dispatch option", sql: `select symphony.dispatch($1, $2::jsonb, '{"dealy": "1 minute"}')`, kind: "email.send", payload: email(""),
			code: "22023", names: `unknown dispatch option 'dealy'`},
		{name: "delay that is not an interval", sql: `select symphony.dispatch($1, $2::jsonb, '{"delay": "soon"}')`, kind: "email.send", payload: email(""),
			code: "22023", names: `dispatch option delay: invalid input syntax for type interval: "soon"`},
		{name: "run_at that never comes", sql: `select symphony.dispatch($1, $2::jsonb, '{"run_at": "infinity"}')`, kind: "email.send", payload: email(""),
			code: "22023", names: `available_at (run_at, delay) must be a finite time, got infinity`},
		{name: "run_at before all time", sql: `select symphony.dispatch($1, $2::jsonb, '{"run_at": "-infinity"}')`, kind: "email.send", payload: email(""),
			code: "22023", names: `available_at (run_at, delay) must be a finite time, got -infinity`},
		{name: "queue nothing serves", sql: `select symphony.dispatch($1, $2::jsonb, '{"queue": "emails"}')`, kind: "email.send", payload: email(""),
			code: "22023", names: `queue "emails" is not a known queue`},
		{name: "created_at that cannot be read", sql: `insert into symphony.messages (kind, payload, created_at) values ($1, $2::jsonb, 'infinity')`,
			kind: "sms.send", payload: `{"to":"+14155550100","body":"hi"}`, code: "22023", names: `created_at must be a finite time`},
		{name: "max_attempts out of range", sql: `select symphony.dispatch($1, $2::jsonb, '{"max_attempts": 0}')`, kind: "email.send", payload: email(""),
			code: "23514", names: `max_attempts`},
	}
}

// Every malformed dispatch fails at insert with a clear error naming the
// field; things that pass SQL but cannot be sent end dead with the reason;
// strings that look like SQL or HTML are sent verbatim; and good messages
// dispatched in between all succeed: bad input never stalls the queue.
func TestBadInput_RefusedOrDeadAndTheQueueFlows(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `select symphony.register_kind('report.build', 'default')`)
	resend := resendfake.New(resendfake.Options{})
	t.Cleanup(resend.Close)
	twilio := twiliofake.New(twiliofake.Options{OptedOut: []string{"+14155550199"}})
	t.Cleanup(twilio.Close)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, resend.URL()
	cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", twilio.URL(), "+14155550000"
	cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
	start(t, cfg, nil, nil)
	ctx := context.Background()

	good := 0
	dispatchGood := func() {
		t.Helper()
		exec(t, db.Pool, insertSQL, "email.send", email(fmt.Sprintf(`,"tags":{"n":"g%d"}`, good)))
		exec(t, db.Pool, insertSQL, "sms.send", fmt.Sprintf(`{"to":"+14155550100","body":"good %d"}`, good))
		good += 2
	}

	for _, c := range badDispatches() {
		dispatchGood()
		_, err := db.Pool.Exec(ctx, c.sql, c.kind, c.payload)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want SQLSTATE %s", c.name, err, c.code)
			continue
		}
		if pe.Code != c.code || !strings.Contains(pe.Message, c.names) {
			t.Errorf("%s: got %s %q, want %s naming %q", c.name, pe.Code, pe.Message, c.code, c.names)
		}
	}

	// Accepted at insert, refused later: each ends dead with its reason.
	dead := map[string]struct{ kind, payload, reason string }{
		"kind with no handler here":   {"report.build", `{"n": 1}`, `no handler for kind "report.build"`},
		"recipient opted out (21610)": {"sms.send", `{"to":"+14155550199","body":"hi"}`, "unsubscribed recipient"},
	}
	deadIDs := map[string]int64{}
	for name, d := range dead {
		dispatchGood()
		deadIDs[name] = dispatchID(t, db.Pool, d.kind, d.payload, `{}`)
	}
	// Look like SQL or HTML, yet are valid: sent exactly as written.
	sqlish := `Robert'); DROP TABLE symphony.messages;-- <p onload=alert(1)>`
	exec(t, db.Pool, insertSQL, "email.send", fmt.Sprintf(`{"to":"\"Bobby'); drop table x;--\" <bobby@example.com>","from":"me@example.com","subject":%q,"html":"<script>alert(1)</script>"}`, sqlish))
	good++
	dispatchGood()

	waitFor(t, 15*time.Second, "every good message to succeed and the bad ones to die", func() bool {
		return countState(t, db.Pool, "succeeded") == good && countState(t, db.Pool, "dead") == len(dead)
	})
	for name, id := range deadIDs {
		var attempts int
		var lastError string
		if err := db.Pool.QueryRow(ctx, `select attempts, last_error from symphony.messages where id = $1`, id).Scan(&attempts, &lastError); err != nil {
			t.Fatal(err)
		}
		if attempts != 1 || !strings.Contains(lastError, dead[name].reason) {
			t.Errorf("%s: dead after %d attempts with %q, want 1 attempt and a reason containing %q", name, attempts, lastError, dead[name].reason)
		}
	}
	found := false
	for _, e := range resend.Emails() {
		if e.Subject == sqlish {
			found = e.HTML == "<script>alert(1)</script>" && len(e.To) == 1 && e.To[0] == `"Bobby'); drop table x;--" <bobby@example.com>`
		}
	}
	if !found {
		t.Error("the SQL- and HTML-looking email was not sent verbatim")
	}
	var rows int
	if err := db.Pool.QueryRow(ctx, `select count(*) from symphony.messages`).Scan(&rows); err != nil || rows != good+len(dead) {
		t.Fatalf("%d rows (%v), want %d: a refused dispatch must leave no row", rows, err, good+len(dead))
	}
}
