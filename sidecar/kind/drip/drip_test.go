package drip_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/drip"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// Drips driven by a controllable clock: no step before its time, none
// skipped, none twice, and the enrollment completes after the last.
func TestDrip_StepsRunOnTimeOnceEach(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	ctx := context.Background()
	kindtest.Exec(t, pool, `insert into symphony.drips (name, quiet_hours) values ('onboarding', false)`)
	kindtest.Exec(t, pool, `insert into symphony.drip_steps (drip_id, position, delay, body)
		select id, p, d::interval, b from symphony.drips,
		  (values (0, '0', 'Hi {{name}}'), (1, '1 hour', 'Tip for {{name}}'), (2, '1 day', 'Bye {{phone}}')) s(p, d, b)`)
	kindtest.Exec(t, pool, `insert into symphony.drip_enrollments (drip_id, phone, data, enrolled_at)
		select id, '+14155550100', '{"name": "Ada"}', '2030-01-15T12:00:00Z' from symphony.drips`)
	clk := kindtest.NewClock(t, "2030-01-15T11:59:59Z")
	h := drip.Handler{DB: pool, Now: clk.Now}
	smsCount := func() int64 {
		return kindtest.QueryInt(t, pool, `select count(*) from symphony.messages where kind = 'sms.send'`)
	}

	step := func(n int) error {
		t.Helper()
		_, err := h.Handle(ctx, kindtest.Message(t, pool, `dedupe_key like 'drip:%:' || $1::int`, n))
		return err
	}
	var d *msgtype.DeferError
	if err := step(0); !errors.As(err, &d) || d.After != time.Second {
		t.Fatalf("step 0 a second early: %v, want a 1s deferral", err)
	}
	if smsCount() != 0 {
		t.Fatal("a step sent before its time")
	}
	clk.Set(t, "2030-01-15T12:00:00Z")
	if err := step(0); err != nil {
		t.Fatal(err)
	}
	if err := step(0); err != nil || smsCount() != 1 {
		t.Fatalf("step 0 again: %v, %d SMS; want no error and still 1", err, smsCount())
	}
	clk.Set(t, "2030-01-15T12:59:59.999Z")
	if err := step(1); !errors.As(err, &d) || d.After != time.Millisecond {
		t.Fatalf("step 1 a millisecond early: %v", err)
	}
	clk.Set(t, "2030-01-15T13:00:00Z")
	if err := step(1); err != nil {
		t.Fatal(err)
	}
	clk.Set(t, "2030-01-16T13:00:00Z")
	if err := step(2); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	rows, _ := pool.Query(ctx, `select payload ->> 'body' from symphony.messages where kind = 'sms.send' order by id`)
	for rows.Next() {
		var b string
		_ = rows.Scan(&b)
		bodies = append(bodies, b)
	}
	if strings.Join(bodies, "|") != "Hi Ada|Tip for Ada|Bye +14155550100" {
		t.Fatalf("sent %q", bodies)
	}
	if st := kindtest.QueryInt(t, pool, `select count(*) from symphony.drip_enrollments where status = 'completed' and steps_sent = 3`); st != 1 {
		t.Fatal("the enrollment did not complete after its last step")
	}
}

// A step due in the recipient's quiet hours waits for the window, and its SMS
// carries the window too.
func TestDrip_QuietHoursDeferTheStep(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	ctx := context.Background()
	kindtest.Exec(t, pool, `insert into symphony.drips (name) values ('night')`)
	kindtest.Exec(t, pool, `insert into symphony.drip_steps (drip_id, position, body) select id, 0, 'hello' from symphony.drips`)
	// 03:00 UTC is 22:00 the evening before in New York: outside 08:00-21:00.
	kindtest.Exec(t, pool, `insert into symphony.drip_enrollments (drip_id, phone, time_zone, enrolled_at)
		select id, '+14155550100', 'America/New_York', '2030-01-15T03:00:00Z' from symphony.drips`)
	clk := kindtest.NewClock(t, "2030-01-15T03:00:00Z")
	h := drip.Handler{DB: pool, Now: clk.Now}
	_, err := h.Handle(ctx, kindtest.Message(t, pool, `kind = 'drip.step'`))
	var d *msgtype.DeferError
	if !errors.As(err, &d) || d.After != 10*time.Hour || !strings.Contains(d.Reason, "quiet hours") {
		t.Fatalf("got %v, want a deferral of 10h to 08:00 New York", err)
	}
	clk.Set(t, "2030-01-15T13:00:00Z")
	if _, err := h.Handle(ctx, kindtest.Message(t, pool, `kind = 'drip.step'`)); err != nil {
		t.Fatal(err)
	}
	m := kindtest.Message(t, pool, `kind = 'sms.send'`)
	if got := kindtest.Field(t, m.Meta, "quiet_hours"); got != `{"from":"08:00","time_zone":"America/New_York","until":"21:00"}` {
		t.Fatalf("the SMS's quiet_hours = %s", got)
	}
}

// A step whose body uses a variable the enrollment lost fails for good, naming it.
func TestDrip_MissingVariableIsPermanentAndNamed(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	kindtest.Exec(t, pool, `insert into symphony.drips (name, quiet_hours) values ('x', false)`)
	kindtest.Exec(t, pool, `insert into symphony.drip_steps (drip_id, position, body) select id, 0, 'Hi {{name}}' from symphony.drips`)
	kindtest.Exec(t, pool, `insert into symphony.drip_enrollments (drip_id, phone, data) select id, '+14155550100', '{"name": "A"}' from symphony.drips`)
	kindtest.Exec(t, pool, `update symphony.drip_enrollments set data = '{}'`)
	_, err := drip.Handler{DB: pool}.Handle(context.Background(), kindtest.Message(t, pool, `kind = 'drip.step'`))
	if err == nil || !strings.Contains(err.Error(), "{{name}}") {
		t.Fatalf("got %v, want an error naming {{name}}", err)
	}
	if kindtest.QueryInt(t, pool, `select count(*) from symphony.drip_enrollments where status = 'active' and next_step = 0`) != 1 {
		t.Fatal("the enrollment moved on although its step was not sent")
	}
}
