package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/cli"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// run calls the command as `symphony args...` would, against db.
func run(t *testing.T, db *pgtest.DB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "DATABASE_URL" && db != nil {
			return db.ConnString
		}
		return ""
	}
	code = cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: getenv})
	return code, out.String(), errOut.String()
}

func mustRun(t *testing.T, db *pgtest.DB, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, db, nil, args...)
	if code != 0 {
		t.Fatalf("symphony %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func scalar[T any](t *testing.T, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// failures makes a database with messages 1-2 dead in email (1 an hour ago),
// 3 dead in sms, 4 pending after a failed attempt, 5 pending and 6 succeeded.
func failures(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.NewDB(t)
	for range 2 {
		exec(t, db.Pool, `select symphony.send_email('bob@example.com', 'me@example.com', 'hi', 'x')`)
	}
	exec(t, db.Pool, `select symphony.send_sms('+14155550100', 'hi')`)
	for range 3 {
		exec(t, db.Pool, `select symphony.send_email('carol@example.com', 'me@example.com', 'hi', 'x')`)
	}
	exec(t, db.Pool, `update symphony.messages set state = 'dead', attempts = 5, finished_at = now() - interval '1 hour',
	   last_error = 'gave up after 5 attempts: resend http 503: busy',
	   errors = '[{"attempt": 5, "at": "2026-01-02T03:04:05Z", "error": "resend http 503: busy", "code": "503", "worker": "w1", "maybe_sent": true}]'
	 where id = 1`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', attempts = 1, finished_at = now(), last_error = 'recipient rejected' where id = 2`)
	exec(t, db.Pool, `update symphony.messages set state = 'dead', attempts = 1, finished_at = now(), last_error = 'twilio code 21211: invalid number' where id = 3`)
	exec(t, db.Pool, `update symphony.messages set attempts = 1, last_error = 'timeout', available_at = now() + interval '1 minute' where id = 4`)
	exec(t, db.Pool, `update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now(), result = '{"provider":"log"}' where id = 6`)
	return db
}

func TestFailedList_NewestFirstWithFilters(t *testing.T) {
	t.Parallel()
	db := failures(t)
	out := mustRun(t, db, "failed", "list")
	contains(t, "failed list", out, "ID", "REASON", "recipient rejected", "twilio code 21211", "gave up after 5 attempts", "503")
	if strings.Contains(out, "timeout") {
		t.Errorf("failed list shows a message that is only retrying:\n%s", out)
	}
	if i, j := strings.Index(out, "recipient rejected"), strings.Index(out, "gave up"); i > j {
		t.Errorf("older failure listed first:\n%s", out)
	}

	out = mustRun(t, db, "failed", "list", "--queue", "sms")
	contains(t, "--queue sms", out, "21211")
	if strings.Contains(out, "rejected") {
		t.Errorf("--queue sms lists email failures:\n%s", out)
	}
	out = mustRun(t, db, "failed", "list", "--kind", "email.send", "--since", "30m")
	contains(t, "--kind email.send --since 30m", out, "recipient rejected")
	if strings.Contains(out, "gave up") || strings.Contains(out, "21211") {
		t.Errorf("--kind/--since did not filter:\n%s", out)
	}
	out = mustRun(t, db, "failed", "list", "--limit", "1", "--since", "2d")
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("--limit 1 printed %d lines:\n%s", n, out)
	}
	out = mustRun(t, db, "failed", "list", "--retrying")
	contains(t, "--retrying", out, "timeout", "retrying")
	out = mustRun(t, db, "failed", "list", "--queue", "drip")
	contains(t, "an empty listing", out, "no failed messages")
}

func TestFailedShow_PrintsTheMessageInFull(t *testing.T) {
	t.Parallel()
	db := failures(t)
	out := mustRun(t, db, "failed", "show", "1")
	contains(t, "failed show", out, "email.send", "dead", "5 of 5", "gave up after 5 attempts",
		"#5 2026-01-02T03:04:05Z code 503 (the provider may have accepted it) by w1: resend http 503: busy",
		`"to": "bob@example.com"`)

	code, _, errOut := run(t, db, nil, "failed", "show", "999")
	if code != 1 || !strings.Contains(errOut, "message 999: not found") {
		t.Fatalf("show of a missing id: exit %d, %s", code, errOut)
	}
}

func TestFailedRetry_RetriesDeadOnly(t *testing.T) {
	t.Parallel()
	db := failures(t)
	code, out, errOut := run(t, db, nil, "failed", "retry", "2", "5", "6", "77")
	if code != 1 {
		t.Fatalf("retry of a mix: exit %d, want 1 (some were not retried)", code)
	}
	contains(t, "retry output", out, "message 2 retried", "message 5 not retried: it is pending, not dead",
		"message 6 not retried: it is succeeded, not dead", "message 77 not retried: no such message")
	contains(t, "retry stderr", errOut, "3 of 4 messages not retried")
	states := scalar[[]string](t, db.Pool, `select array_agg(state order by id) from symphony.messages where id in (2, 5, 6)`)
	if strings.Join(states, ",") != "pending,pending,succeeded" {
		t.Fatalf("states after retry %v", states)
	}
	if a := scalar[int](t, db.Pool, `select attempts from symphony.messages where id = 2`); a != 0 {
		t.Fatalf("a retried message starts again from attempt 0, has %d", a)
	}

	out = mustRun(t, db, "failed", "retry", "--all", "--queue", "email")
	contains(t, "retry --all --queue email", out, "retried 1 dead message: 1")
	if st := scalar[string](t, db.Pool, `select state from symphony.messages where id = 3`); st != "dead" {
		t.Fatalf("--queue email retried the sms message (now %s)", st)
	}
	out = mustRun(t, db, "failed", "retry", "--all")
	contains(t, "retry --all", out, "retried 1 dead message: 3")
	if n := scalar[int](t, db.Pool, `select count(*) from symphony.messages where state = 'dead'`); n != 0 {
		t.Fatalf("%d dead left after retry --all", n)
	}
}

func TestFailedRemove_DeletesDeadOnly(t *testing.T) {
	t.Parallel()
	db := failures(t)
	code, out, _ := run(t, db, nil, "failed", "remove", "1", "4", "5", "6")
	if code != 1 {
		t.Fatalf("remove of a mix: exit %d, want 1", code)
	}
	contains(t, "remove output", out, "message 1 removed", "message 4 not removed: it is pending, not dead",
		"message 6 not removed: it is succeeded, not dead")
	ids := scalar[[]int64](t, db.Pool, `select array_agg(id order by id) from symphony.messages`)
	if len(ids) != 5 || ids[0] != 2 {
		t.Fatalf("messages left %v: only message 1 may be gone", ids)
	}
	mustRun(t, db, "failed", "remove", "2", "3")
	if n := scalar[int](t, db.Pool, `select count(*) from symphony.messages`); n != 3 {
		t.Fatalf("%d messages left, want 3", n)
	}
}

// Retry and remove are audited under the operator, like flag changes, not as the
// database login.
func TestFailed_RetryAndRemoveAuditedUnderTheOperator(t *testing.T) {
	t.Parallel()
	db := failures(t)
	if code, _, errOut := run(t, db, map[string]string{"SYMPHONY_ACTOR": "carol", "USER": "root"}, "failed", "retry", "1"); code != 0 {
		t.Fatalf("retry: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, db, map[string]string{"USER": "dave"}, "failed", "retry", "--all", "--queue", "sms"); code != 0 {
		t.Fatalf("retry --all: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, db, map[string]string{"SYMPHONY_ACTOR": "carol"}, "failed", "remove", "2", "--actor", "erin"); code != 0 {
		t.Fatalf("remove: exit %d: %s", code, errOut)
	}
	got := scalar[[]string](t, db.Pool, `select array_agg(message_id || ':' || action || ':' || actor order by id)
	   from symphony.message_actions`)
	if strings.Join(got, " ") != "1:retry:carol 3:retry:dave 2:remove:erin" {
		t.Fatalf("message_actions %v, want retry by carol ($SYMPHONY_ACTOR), retry --all by dave ($USER), remove by erin (--actor)", got)
	}
}

func TestFlags_ListAndSetAuditedUnderTheOperator(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	out := mustRun(t, db, "flags", "list")
	contains(t, "flags list", out, "FLAG", "symphony", "email_queue", "campaign_processing", "sms_drip")
	if !strings.HasPrefix(strings.SplitN(out, "\n", 2)[1], "symphony ") {
		t.Errorf("the master switch is not listed first:\n%s", out)
	}

	code, out, errOut := run(t, db, map[string]string{"USER": "alice"}, "flags", "set", "symphony", "--enabled")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	contains(t, "flags set", out, "flag symphony: on", "by alice")
	out = mustRun(t, db, "flags", "set", "email_queue", "--enabled", "--percent", "10", "--actor", "bob")
	contains(t, "flags set --percent", out, "flag email_queue: on, rollout 10%, effective 10% (by bob)")
	mustRun(t, db, "flags", "set", "--percent", "0", "email_queue", "--actor", "bob")

	changes := scalar[[]string](t, db.Pool, `select array_agg(flag || ':' || changed_by || ':' || new_rollout_percent order by id)
	   from symphony.flag_changes where changed_by in ('alice', 'bob')`)
	if strings.Join(changes, " ") != "symphony:alice:100 email_queue:bob:10 email_queue:bob:0" {
		t.Fatalf("audit trail %v", changes)
	}

	code, _, errOut = run(t, db, nil, "flags", "set", "email_qeue", "--enabled")
	if code != 1 || !strings.Contains(errOut, `unknown flag "email_qeue" (flags: symphony, campaign_processing`) {
		t.Fatalf("unknown flag: exit %d, %s", code, errOut)
	}
}

func TestDispatch_EmailAndSMSGoThroughTheQueue(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	out := mustRun(t, db, "dispatch", "email", "--to", "a@example.com", "--from", "me@example.com", "--subject", "test", "--text", "hello")
	contains(t, "dispatch email", out, "dispatched email message 1")
	out = mustRun(t, db, "dispatch", "sms", "--to", "+14155550100", "--body", "hello")
	contains(t, "dispatch sms", out, "dispatched sms message 2")
	got := scalar[[]string](t, db.Pool, `select array_agg(kind || ' ' || (payload ->> 'to') order by id) from symphony.messages`)
	if strings.Join(got, ",") != "email.send a@example.com,sms.send +14155550100" {
		t.Fatalf("dispatched %v", got)
	}

	code, _, errOut := run(t, db, nil, "dispatch", "sms", "--to", "4155550100", "--body", "x")
	if code != 1 || !strings.Contains(errOut, `"to" must be an E.164 phone number`) {
		t.Fatalf("a bad number: exit %d, %s", code, errOut)
	}

	// --wait reports the outcome; with no sidecar the message stays pending.
	code, out, errOut = run(t, db, nil, "dispatch", "email", "--to", "a@example.com", "--from", "me@example.com",
		"--subject", "t", "--html", "<p>x</p>", "--wait", "300ms")
	if code != 1 || !strings.Contains(out, "dispatched email message 4") || !strings.Contains(errOut, "message 4 still pending after 300ms") {
		t.Fatalf("--wait without a sidecar: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestStatus_ShowsQueuesSidecarsFlagsAndFailures(t *testing.T) {
	t.Parallel()
	db := failures(t)
	exec(t, db.Pool, `insert into symphony.workers (id, hostname, version, heartbeat_at) values
	   ('fly-1', 'h1', 'v9', now()), ('fly-2', 'h2', 'v9', now() - interval '5 minutes')`)
	out := mustRun(t, db, "status")
	contains(t, "status", out, "master switch: off", "QUEUE", "email", "sms", "drip",
		"fly-1", "alive", "fly-2", "stale", "FLAG", "email_queue", "newest failures", "recipient rejected")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[0] == "email" && (f[1] != "1" || f[5] != "2") {
			t.Errorf("email row %q: want 1 pending and 2 dead", line)
		}
	}

	out = mustRun(t, db, "status", "--json")
	contains(t, "status --json", out, `"queues"`, `"recent_failures"`, `"workers"`, `"flags"`, `"status": "stale"`)
}

func TestDrain_StopsClaimingAndWaitsForInFlightWork(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'symphony'`)
	exec(t, db.Pool, `select symphony.send_email('a@example.com', 'me@example.com', 'hi', 'x')`)
	exec(t, db.Pool, `update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w1', locked_until = now() + interval '1 minute'`)

	code, out, errOut := run(t, db, map[string]string{"USER": "ops"}, "drain", "--timeout", "200ms", "--interval", "20ms")
	if code != 1 || !strings.Contains(errOut, "still 1 processing after 200ms") {
		t.Fatalf("drain with work stuck: exit %d\n%s\n%s", code, out, errOut)
	}
	contains(t, "drain output", out, "master switch off", "waiting for 1 processing message")
	if on := scalar[bool](t, db.Pool, `select enabled from symphony.flags where name = 'symphony'`); on {
		t.Fatal("drain left the master switch on")
	}
	if by := scalar[string](t, db.Pool, `select changed_by from symphony.flag_changes order by id desc limit 1`); by != "ops" {
		t.Fatalf("the switch-off is audited as %q", by)
	}

	// The sidecar finishes its message while drain waits.
	go func() {
		time.Sleep(150 * time.Millisecond)
		exec(t, db.Pool, `update symphony.messages set state = 'succeeded', finished_at = now(), locked_by = null, locked_until = null`)
	}()
	out = mustRun(t, db, "drain", "--timeout", "20s", "--interval", "20ms")
	contains(t, "drain", out, "drained after", "no message is processing")
}

func TestUsageErrors_Exit2NamingTheProblem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"failed"}, "which action"},
		{[]string{"failed", "purge"}, `unknown action "purge"`},
		{[]string{"failed", "list", "--limit", "0"}, "--limit must be at least 1"},
		{[]string{"failed", "list", "--since", "yesterday"}, `"yesterday" is not a duration`},
		{[]string{"failed", "list", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"failed", "show"}, "show takes one message id"},
		{[]string{"failed", "show", "abc"}, `"abc" is not a message id`},
		{[]string{"failed", "retry"}, "retry needs message ids, or --all"},
		{[]string{"failed", "retry", "1", "--all"}, "give message ids or --all, not both"},
		{[]string{"failed", "retry", "1", "--queue", "email"}, "go with --all"},
		{[]string{"failed", "remove"}, "remove needs the ids"},
		{[]string{"failed", "remove", "-3"}, "flag provided but not defined: -3"},
		{[]string{"flags"}, "which action"},
		{[]string{"flags", "set", "symphony"}, "nothing to set"},
		{[]string{"flags", "set", "symphony", "--enabled", "--disabled"}, "contradict"},
		{[]string{"flags", "set", "email_queue", "--percent", "101"}, "--percent must be between 0 and 100"},
		{[]string{"flags", "set", "--enabled"}, "set takes one flag name"},
		{[]string{"dispatch"}, "email or sms"},
		{[]string{"dispatch", "fax"}, `unknown message type "fax"`},
		{[]string{"dispatch", "email", "--to", "a@example.com", "--from", "b@example.com"}, "--subject is required"},
		{[]string{"dispatch", "email", "--to", "a@example.com", "--from", "b@example.com", "--subject", "s"}, "--text or --html is required"},
		{[]string{"dispatch", "sms", "--to", "+14155550100"}, "--body is required"},
		{[]string{"drain", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"status", "now"}, "status takes no arguments"},
	}
	for _, c := range cases {
		code, out, errOut := run(t, nil, map[string]string{"DATABASE_URL": "postgres://nowhere.invalid/db"}, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("symphony %s: exit %d, stderr %q; want exit 2 naming %q and no output", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
	code, _, errOut := run(t, nil, map[string]string{}, "status")
	if code != 2 || !strings.Contains(errOut, "DATABASE_URL is required") {
		t.Errorf("no DATABASE_URL: exit %d, %q", code, errOut)
	}
}

// A queue deeper than the overview counts (queue.PendingCap) shows its pending
// count as "at least", with a +, as the dashboard does.
func TestStatus_MarksACappedPendingCount(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	exec(t, db.Pool, `insert into symphony.messages (kind, payload)
	  select 'email.send', jsonb_build_object('to', 'u' || g || '@example.com', 'from', 'me@example.com', 'subject', 'hi', 'text', 'x')
	    from generate_series(1, $1::int + 5) g`, queue.PendingCap)
	out := mustRun(t, db, "status")
	want := fmt.Sprintf("%d+", queue.PendingCap+1)
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "email" {
			if f[1] != want {
				t.Errorf("email row %q: want pending %s", line, want)
			}
			return
		}
	}
	t.Fatalf("no email row in\n%s", out)
}
