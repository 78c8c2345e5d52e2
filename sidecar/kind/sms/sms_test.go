package sms_test

import (
	"context"
	"errors"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/sms"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// SMS: STOP cancels; outside meta.quiet_hours the message is deferred.
func TestSMS_SuppressionAndQuietHours(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	s := &kindtest.Sender{}
	clk := kindtest.NewClock(t, "2030-01-15T03:00:00Z") // 22:00 in New York
	h := sms.Handler{Sender: s, Suppressions: suppression.List{DB: pool}, Now: clk.Now}
	kindtest.Exec(t, pool, `select symphony.send_sms('+14155550100', 'hi', null, '{"meta": {"quiet_hours": {"time_zone": "America/New_York"}}}')`)
	_, err := h.Handle(context.Background(), kindtest.Message(t, pool, `true`))
	var d *msgtype.DeferError
	if !errors.As(err, &d) || d.After.Hours() != 10 {
		t.Fatalf("at 22:00 local: %v, want a 10h deferral", err)
	}
	clk.Set(t, "2030-01-15T13:00:00Z")
	if _, err := h.Handle(context.Background(), kindtest.Message(t, pool, `true`)); err != nil || len(s.SMS) != 1 {
		t.Fatalf("at 08:00 local: %v, %d sent", err, len(s.SMS))
	}
	kindtest.Exec(t, pool, `select symphony.suppress('sms', '+1 415 555 0100', 'stop')`)
	_, err = h.Handle(context.Background(), kindtest.Message(t, pool, `true`))
	var c *msgtype.CancelError
	if !errors.As(err, &c) || len(s.SMS) != 1 {
		t.Fatalf("after STOP: %v, %d sent", err, len(s.SMS))
	}
}
