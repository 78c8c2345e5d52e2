package drip

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
	"github.com/symphonymessenger/symphony/sidecar/kind/sms"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/quiethours"
	"github.com/symphonymessenger/symphony/sidecar/template"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Handler handles drip.step: one due step of one enrollment. In one
// transaction, symphony.drip_step_begin locks the enrollment and checks the
// step is the one due (not early, not already sent, not opted out), the body
// is rendered here, and symphony.drip_step_sent dispatches the SMS, moves the
// cursor and schedules the next step. A step due in the recipient's quiet
// hours is deferred to the window's opening, without spending an attempt.
type Handler struct {
	DB  *pgxpool.Pool
	Now func() time.Time
}

type dripWork struct {
	Action     string          `json:"action"` // send, wait or stop
	Until      time.Time       `json:"until"`
	Reason     string          `json:"reason"`
	Position   int             `json:"position"`
	Phone      string          `json:"phone"`
	From       *string         `json:"from"`
	Body       string          `json:"body"`
	Data       json.RawMessage `json:"data"`
	TimeZone   string          `json:"time_zone"`
	QuietHours bool            `json:"quiet_hours"`
	SendFrom   string          `json:"send_from"`
	SendUntil  string          `json:"send_until"`
}

// Handle runs the step.
func (h Handler) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	var p struct {
		EnrollmentID int64 `json:"enrollment_id"`
		Step         *int  `json:"step"`
	}
	if err := strictjson.Decode(m.Payload, &p); err != nil || p.EnrollmentID <= 0 || p.Step == nil {
		return nil, msgtype.Permanent(fmt.Errorf(`invalid drip.step payload: "enrollment_id" and "step" are required whole numbers`))
	}
	now := clock(h.Now)
	tx, err := h.DB.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("error running drip enrollment %d: %w", p.EnrollmentID, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var work dripWork
	if err := tx.QueryRow(ctx, queries.DripStepBegin, p.EnrollmentID, *p.Step, now).Scan(&work); err != nil {
		return nil, fmt.Errorf("error reading drip enrollment %d: %w", p.EnrollmentID, err)
	}
	switch work.Action {
	case "wait":
		return nil, msgtype.Defer(work.Until.Sub(now), work.Reason)
	case "stop":
		// The enrollment may have just ended (opted out, no steps left).
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("error running drip enrollment %d: %w", p.EnrollmentID, err)
		}
		return json.Marshal(map[string]string{"action": "stop", "reason": work.Reason})
	}
	meta := map[string]any{}
	if work.QuietHours {
		window, err := quiethours.New(work.TimeZone, work.SendFrom, work.SendUntil)
		if err != nil {
			return nil, msgtype.Permanent(fmt.Errorf("drip enrollment %d: %w", p.EnrollmentID, err))
		}
		if !window.Open(now) {
			open := window.Next(now)
			return nil, msgtype.Defer(open.Sub(now), fmt.Sprintf("quiet hours: sending opens at %s", open.In(window.Location).Format("2006-01-02 15:04 MST")))
		}
		// The SMS keeps the window too, in case its queue is slow.
		meta["quiet_hours"] = map[string]string{"time_zone": work.TimeZone, "from": work.SendFrom, "until": work.SendUntil}
	}
	payload, err := renderDripSMS(&work)
	if err != nil {
		return nil, msgtype.Permanent(fmt.Errorf("drip enrollment %d step %d: %w", p.EnrollmentID, work.Position, err))
	}
	var result json.RawMessage
	if err := tx.QueryRow(ctx, queries.DripStepSent, p.EnrollmentID, work.Position, payload, meta, now).Scan(&result); err != nil {
		return nil, fmt.Errorf("error sending drip enrollment %d step %d: %w", p.EnrollmentID, work.Position, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("error sending drip enrollment %d step %d: %w", p.EnrollmentID, work.Position, err)
	}
	return result, nil
}

// renderDripSMS returns the step's sms.send payload, checked as the schema will
// check it.
func renderDripSMS(w *dripWork) (json.RawMessage, error) {
	t, err := template.Parse("body", w.Body)
	if err != nil {
		return nil, err
	}
	data, err := template.DataFromJSON(w.Data)
	if err != nil {
		return nil, err
	}
	data["phone"] = w.Phone
	body, err := t.Render(data, template.Text)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	s := map[string]string{"to": w.Phone, "body": body}
	if w.From != nil {
		s["from"] = *w.From
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if _, err := sms.DecodeSMS(b); err != nil {
		return nil, err
	}
	return b, nil
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}
