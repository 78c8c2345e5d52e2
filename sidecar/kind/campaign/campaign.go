package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
	"github.com/symphonymessenger/symphony/sidecar/kind/email"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/template"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Handler handles campaign.process: one bounded batch of a campaign per
// message. In one transaction, symphony.campaign_batch locks the campaign and
// hands over its next pending recipients, they are rendered here, and
// symphony.campaign_enqueue dispatches their emails, records progress and
// chains the next campaign.process. A crash anywhere rolls the batch back
// whole, and the retried message does it again; nothing is sent twice.
type Handler struct {
	DB  *pgxpool.Pool
	Now func() time.Time
}

type campaignWork struct {
	Action   string    `json:"action"` // send, wait or stop
	Until    time.Time `json:"until"`
	Reason   string    `json:"reason"`
	Campaign struct {
		ID                int64   `json:"id"`
		From              string  `json:"from"`
		ReplyTo           *string `json:"reply_to"`
		Subject           string  `json:"subject"`
		HTML              *string `json:"html"`
		Text              *string `json:"text"`
		UnsubscribeURL    *string `json:"unsubscribe_url"`
		UnsubscribeMailto *string `json:"unsubscribe_mailto"`
	} `json:"campaign"`
	Recipients []campaignRecipient `json:"recipients"`
}

type campaignRecipient struct {
	ID    int64           `json:"id"`
	Email string          `json:"email"`
	Data  json.RawMessage `json:"data"`
}

// Handle processes one batch.
func (h Handler) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	var p struct {
		CampaignID int64 `json:"campaign_id"`
	}
	if err := strictjson.Decode(m.Payload, &p); err != nil || p.CampaignID <= 0 {
		return nil, msgtype.Permanent(fmt.Errorf(`invalid campaign.process payload: "campaign_id" must be a positive whole number`))
	}
	now := clock(h.Now)
	tx, err := h.DB.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("error processing campaign %d: %w", p.CampaignID, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var work campaignWork
	if err := tx.QueryRow(ctx, queries.CampaignBatch, p.CampaignID, m.ID, now).Scan(&work); err != nil {
		return nil, fmt.Errorf("error reading campaign %d's next batch: %w", p.CampaignID, err)
	}
	switch work.Action {
	case "wait":
		return nil, msgtype.Defer(work.Until.Sub(now), work.Reason)
	case "stop":
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("error processing campaign %d: %w", p.CampaignID, err)
		}
		return json.Marshal(map[string]string{"action": "stop", "reason": work.Reason})
	}
	r, err := newCampaignRenderer(&work)
	if err != nil {
		return nil, msgtype.Permanent(err)
	}
	ids := make([]int64, len(work.Recipients))
	payloads := make([]*string, len(work.Recipients))
	errs := make([]*string, len(work.Recipients))
	for i, rc := range work.Recipients {
		ids[i] = rc.ID
		b, err := r.render(rc)
		if err != nil {
			e := err.Error()
			errs[i] = &e
			continue
		}
		s := string(b)
		payloads[i] = &s
	}
	var result json.RawMessage
	if err := tx.QueryRow(ctx, queries.CampaignEnqueue, p.CampaignID, m.ID, ids, payloads, errs, now).Scan(&result); err != nil {
		return nil, fmt.Errorf("error queueing campaign %d's batch: %w", p.CampaignID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("error queueing campaign %d's batch: %w", p.CampaignID, err)
	}
	return result, nil
}

// campaignRenderer renders one campaign's email for each recipient.
type campaignRenderer struct {
	id                                 int64
	from                               string
	replyTo                            *string
	subject, html, text, unsub, mailto *template.Template
}

func newCampaignRenderer(w *campaignWork) (*campaignRenderer, error) {
	c := w.Campaign
	r := &campaignRenderer{id: c.ID, from: c.From, replyTo: c.ReplyTo}
	var err error
	parse := func(field string, src *string) *template.Template {
		if src == nil || err != nil {
			return nil
		}
		var t *template.Template
		t, err = template.Parse("campaign "+field, *src)
		return t
	}
	r.subject = parse("subject", &c.Subject)
	r.html = parse("html", c.HTML)
	r.text = parse("text", c.Text)
	r.unsub = parse("unsubscribe_url", c.UnsubscribeURL)
	r.mailto = parse("unsubscribe_mailto", c.UnsubscribeMailto)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", c.ID, err)
	}
	return r, nil
}

// render returns the email.send payload for one recipient, checked as the
// schema will check it, so one bad recipient fails alone.
func (r *campaignRenderer) render(rc campaignRecipient) (json.RawMessage, error) {
	data, err := template.DataFromJSON(rc.Data)
	if err != nil {
		return nil, err
	}
	data["email"] = rc.Email
	data["campaign_id"] = strconv.FormatInt(r.id, 10)
	data["recipient_id"] = strconv.FormatInt(rc.ID, 10)
	var unsub []string
	if r.unsub != nil {
		u, err := r.unsub.Render(data, template.URL)
		if err != nil {
			return nil, fmt.Errorf("unsubscribe_url: %w", err)
		}
		data["unsubscribe_url"] = u
		unsub = append(unsub, "<"+u+">")
	}
	if r.mailto != nil {
		u, err := r.mailto.Render(data, template.URL)
		if err != nil {
			return nil, fmt.Errorf("unsubscribe_mailto: %w", err)
		}
		unsub = append(unsub, "<"+u+">")
	}
	e := map[string]any{"to": rc.Email, "from": r.from, "tags": map[string]string{"campaign": strconv.FormatInt(r.id, 10)}}
	if r.replyTo != nil {
		e["reply_to"] = *r.replyTo
	}
	for _, f := range []struct {
		name string
		t    *template.Template
		mode template.Mode
	}{{"subject", r.subject, template.Line}, {"html", r.html, template.HTML}, {"text", r.text, template.Text}} {
		if f.t == nil {
			continue
		}
		s, err := f.t.Render(data, f.mode)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		e[f.name] = s
	}
	if len(unsub) > 0 {
		// RFC 2369 and, for one-click (RFC 8058, required by Gmail and Yahoo
		// for bulk senders), an https URL answered by a POST.
		h := map[string]string{"List-Unsubscribe": strings.Join(unsub, ", ")}
		if r.unsub != nil {
			h["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
		}
		e["headers"] = h
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if _, _, err := email.DecodeEmail(b); err != nil {
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
