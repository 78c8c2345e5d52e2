package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

type campaignView struct {
	ops.Campaign
	Bar      template.HTML
	Segments []segment
	Rate     string
	ETA      string
	Actions  []string // the buttons that apply to its status
}

type dripView struct {
	Name  string
	Steps []dripStepView
}

type dripStepView struct {
	ops.DripStep
	Bar template.HTML
}

type campaignsPage struct {
	Campaigns []campaignView
	Batches   []ops.Batches // batch requests of the last hour
	Drips     []dripView
	Log       []ops.CampaignActionRecord
}

func (s *server) campaigns(ctx context.Context, o *ops.Store, d *viewData) (any, error) {
	cs, err := o.Campaigns(ctx, 20, 7*24*time.Hour)
	if err != nil {
		return nil, err
	}
	var p campaignsPage
	for _, c := range cs {
		segs := []segment{{"delivered", "g-delivered", c.Delivered}, {"sent", "g-sent", c.Sent},
			{"bounced", "g-bounced", c.Bounced}, {"complained", "g-complained", c.Complained},
			{"unsubscribed", "g-unsub", c.Unsubscribed}, {"queued", "g-queued", c.Queued},
			{"skipped", "g-skipped", c.Skipped}, {"failed", "g-failed", c.Failed}, {"cancelled", "g-cancelled", c.Cancelled}}
		v := campaignView{Campaign: c, Segments: segs, Bar: bar(c.Name, segs), Rate: "–", ETA: "–"}
		if r, ok := c.PerMinute(d.Now); ok {
			v.Rate = fmt.Sprintf("%.2g / min", r)
		}
		if eta, ok := c.ETA(d.Now); ok {
			v.ETA = "in " + agoSeconds(eta.Sub(d.Now).Seconds()) + " (" + eta.Format("15:04 UTC") + ")"
		}
		switch c.Status {
		case "scheduled", "running":
			v.Actions = []string{"pause", "cancel"}
		case "paused":
			v.Actions = []string{"resume", "cancel"}
		case "draft":
			v.Actions = []string{"cancel"}
		}
		p.Campaigns = append(p.Campaigns, v)
	}
	if p.Batches, err = o.RecentBatches(ctx, time.Hour); err != nil {
		return nil, err
	}
	steps, err := o.DripSteps(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		if len(p.Drips) == 0 || p.Drips[len(p.Drips)-1].Name != st.Drip {
			p.Drips = append(p.Drips, dripView{Name: st.Drip})
		}
		dv := &p.Drips[len(p.Drips)-1]
		dv.Steps = append(dv.Steps, dripStepView{DripStep: st, Bar: bar(fmt.Sprintf("%s step %d", st.Drip, st.Index+1),
			[]segment{{"sent", "g-delivered", st.Sent}, {"waiting", "g-queued", st.Waiting}, {"opted out", "g-complained", st.OptedOut}})})
	}
	p.Log, err = o.CampaignActionLog(ctx, 10)
	return p, err
}

// campaignAction pauses, resumes or cancels a campaign for a signed-in
// operator, audited under the operator's name (see actor).
func (s *server) campaignAction(w http.ResponseWriter, r *http.Request) {
	kind, ok := s.action(w, r, 4096)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, fmt.Sprintf("%q is not a campaign id", r.PathValue("id")), http.StatusBadRequest)
		return
	}
	action := r.PathValue("action")
	if !slices.Contains(ops.CampaignActions, action) {
		http.Error(w, fmt.Sprintf("unknown campaign action %q (actions: pause, resume, cancel)", action), http.StatusNotFound)
		return
	}
	who := s.actor(r, kind)
	notice := fmt.Sprintf("Campaign %d: %s done.", id, action)
	err = s.cfg.Ops.CampaignAction(r.Context(), id, action, who, "cancelled from the dashboard")
	switch {
	case errors.Is(err, ops.ErrNoChange):
		notice = fmt.Sprintf("Campaign %d: %s did not apply (the campaign is not in a state it applies to).", id, action)
	case err != nil:
		s.log.Error("dashboard campaign action failed", "campaign", id, "action", action, "error", err)
		http.Error(w, "campaign action failed: "+err.Error(), http.StatusInternalServerError)
		return
	default:
		s.log.Info("dashboard: campaign action", "campaign", id, "action", action, "actor", who)
	}
	http.Redirect(w, r, "/dashboard/campaigns?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

// Delivery thresholds drawn on the charts (percent). Gmail and Yahoo require
// bulk senders to keep the spam-complaint rate below 0.3 % and recommend below
// 0.1 %; sending services review accounts whose bounce rate reaches about 5 %
// (Amazon SES's review level).
const (
	complaintLimit  = 0.3
	complaintTarget = 0.1
	bounceReview    = 5.0
)

type channelView struct {
	ops.DeliveryHistory
	Charts []template.HTML
}

func (s *server) delivery(ctx context.Context, o *ops.Store, d *viewData) (any, error) {
	const days = 14
	hist, err := o.DeliveryHistory(ctx, days, d.Now)
	if err != nil {
		return nil, err
	}
	out := make([]channelView, len(hist))
	for i, h := range hist {
		x := make([]time.Time, len(h.Days))
		for j, day := range h.Days {
			x[j] = day.Day
		}
		pct := func(f func(ops.DeliveryDay) (float64, bool)) []float64 {
			return values(h.Days, func(day ops.DeliveryDay) float64 {
				v, ok := f(day)
				if !ok {
					return math.NaN()
				}
				return v
			})
		}
		of := func(n func(ops.DeliveryDay) int64) func(ops.DeliveryDay) (float64, bool) {
			return func(day ops.DeliveryDay) (float64, bool) { return day.Rate(n(day)) }
		}
		chart := func(title string, s []series, th []threshold, top float64) template.HTML {
			return lineChart{Title: h.Channel + ": " + title, Unit: " %", X: x, Step: 24 * time.Hour, DayLabels: true,
				Series: s, Thresholds: th, YMax: top}.SVG()
		}
		v := channelView{DeliveryHistory: h}
		v.Charts = append(v.Charts, chart("delivered, of sent, per day",
			[]series{{"delivered", "s-sent", pct(of(func(d ops.DeliveryDay) int64 { return d.Delivered }))}}, nil, 100))
		bounced := "bounced"
		if h.Channel == "sms" {
			bounced = "undelivered"
		}
		v.Charts = append(v.Charts, chart(bounced+", of sent, per day",
			[]series{{bounced, "s-dead", pct(of(func(d ops.DeliveryDay) int64 { return d.Bounced }))}},
			[]threshold{{bounceReview, "5 %: sending services review"}}, 0))
		if h.Channel == "email" {
			v.Charts = append(v.Charts, chart("spam complaints, of delivered, per day",
				[]series{{"complained", "s-failed", pct(ops.DeliveryDay.ComplaintRate)}},
				[]threshold{{complaintLimit, "0.3 %: Gmail/Yahoo limit"}, {complaintTarget, "0.1 %: recommended"}}, 0))
		}
		out[i] = v
	}
	return out, nil
}
