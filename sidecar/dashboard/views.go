package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// The views besides the overview: activity (throughput, failures and latency
// per queue), migration (legacy and Symphony side by side per bridge),
// campaigns and drips, and delivery health. The chart views read only the
// rollups symphony.roll_up() keeps, never the message history itself, so they
// cost the same with ten or ten million finished messages; the campaigns view
// looks up the shown campaigns' messages by id.

// viewData is what every view's template gets.
type viewData struct {
	Tab         string
	WorkerID    string
	Version     string
	Now         time.Time
	Notice      string
	Error       string
	CSRF        string
	SessionAuth bool
	Window      ops.Window
	Windows     []ops.Window
	View        any
}

// view authenticates a GET, reads the view's data within a deadline, and
// renders it; a failed read shows the error in the page with a 503.
func (s *server) view(tab string, read func(ctx context.Context, o *ops.Store, d *viewData) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		kind, session := s.auth.who(r)
		if kind == "" {
			http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
			return
		}
		d := viewData{Tab: tab, WorkerID: s.cfg.WorkerID, Version: s.cfg.Version, Now: s.cfg.Now().UTC(),
			Notice: r.URL.Query().Get("notice"), SessionAuth: kind == "session",
			Window: ops.WindowNamed(r.URL.Query().Get("window")), Windows: ops.Windows}
		if kind == "session" {
			d.CSRF = s.auth.csrf(session)
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		// One read-only transaction a page, JIT off (see ops.Store.Read).
		var v any
		err := s.cfg.Ops.Read(ctx, func(o *ops.Store) error {
			var err error
			v, err = read(ctx, o, &d)
			return err
		})
		d.View = v
		if err != nil {
			s.log.Error("dashboard could not read the database", "view", tab, "error", err)
			d.Error = "The database could not be read: " + err.Error()
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		s.render(w, tab, d)
	}
}

func (s *server) overview(ctx context.Context, o *ops.Store, _ *viewData) (any, error) {
	return o.Overview(ctx, 50)
}

// master reports the master switch.
func master(o ops.Overview) bool {
	for _, f := range o.Flags {
		if f.Name == "symphony" {
			return f.Enabled
		}
	}
	return false
}

// queueView is one queue's charts and totals.
type queueView struct {
	ops.QueueHistory
	Throughput template.HTML
	Latency    template.HTML
	P50, P95   string
}

func (s *server) activity(ctx context.Context, o *ops.Store, d *viewData) (any, error) {
	hist, err := o.QueueHistory(ctx, d.Window, d.Now)
	if err != nil {
		return nil, err
	}
	per := "per minute"
	if d.Window.Step != time.Minute {
		per = fmt.Sprintf("per %d minutes", int(d.Window.Step.Minutes()))
	}
	out := make([]queueView, len(hist))
	for i, h := range hist {
		of := func(f func(ops.QueuePoint) float64) []float64 { return rolled(h.Steps, h.Upto, h.Points, f) }
		sent, failed, retried, dead := of(func(p ops.QueuePoint) float64 { return float64(p.Succeeded) }),
			of(func(p ops.QueuePoint) float64 { return float64(p.FailedAttempts) }),
			of(func(p ops.QueuePoint) float64 { return float64(p.Retried) }),
			of(func(p ops.QueuePoint) float64 { return float64(p.Dead) })
		p50 := of(func(p ops.QueuePoint) float64 { return seconds(p.Latency.Quantile(0.5)) })
		p95 := of(func(p ops.QueuePoint) float64 { return seconds(p.Latency.Quantile(0.95)) })
		out[i] = queueView{QueueHistory: h,
			Throughput: lineChart{Title: h.Queue + ": messages " + per, X: h.Steps, Step: d.Window.Step,
				Series: []series{{"sent", "s-sent", sent}, {"failed attempts", "s-failed", failed},
					{"retried", "s-retried", retried}, {"dead", "s-dead", dead}}}.SVG(),
			Latency: lineChart{Title: h.Queue + ": due to provider request", Unit: " s", X: h.Steps, Step: d.Window.Step,
				Series: []series{{"p50", "s-p50", p50}, {"p95", "s-p95", p95}}}.SVG(),
			P50: duration(h.Total.Latency.Quantile(0.5)), P95: duration(h.Total.Latency.Quantile(0.95)),
		}
	}
	return out, nil
}

func values[P any](points []P, f func(P) float64) []float64 {
	out := make([]float64, len(points))
	for i, p := range points {
		out[i] = f(p)
	}
	return out
}

// rolled returns values of the steps the rollup covers, NaN (not drawn) for
// those starting at or after upto: not zero, just not counted yet.
func rolled[P any](steps []time.Time, upto *time.Time, points []P, f func(P) float64) []float64 {
	out := values(points, f)
	for i, at := range steps {
		if upto != nil && !at.Before(*upto) {
			out[i] = math.NaN()
		}
	}
	return out
}

// seconds turns a quantile in milliseconds into seconds, NaN when there is none.
func seconds(ms float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return ms / 1000
}

func duration(ms float64, ok bool) string {
	if !ok {
		return "–"
	}
	switch {
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 60000:
		return fmt.Sprintf("%.1f s", ms/1000)
	default:
		return fmt.Sprintf("%.1f min", ms/60000)
	}
}

// bridgeView is one bridged workload, legacy and Symphony side by side.
type bridgeView struct {
	ops.BridgeHistory
	Rows    []compareRow
	Handled template.HTML
	Rollout template.HTML
}

type compareRow struct{ What, Legacy, Symphony string }

func (s *server) migration(ctx context.Context, o *ops.Store, d *viewData) (any, error) {
	hist, err := o.MigrationHistory(ctx, d.Window, d.Now)
	if err != nil {
		return nil, err
	}
	out := make([]bridgeView, len(hist))
	for i, h := range hist {
		var marks []marker
		for _, c := range h.Changes {
			marks = append(marks, marker{At: c.At, Label: changeLabel(c), Title: fmt.Sprintf("%s by %s at %s",
				changeText(c), c.By, c.At.UTC().Format("2006-01-02 15:04:05 UTC"))})
		}
		finished := func(p ops.BridgePoint) float64 { return float64(p.Finished) }
		pct := make([]float64, len(h.Steps))
		for j, at := range h.Steps {
			pct[j] = float64(percentAt(h.Rollout, at.Add(d.Window.Step)))
		}
		lg, sy := h.Totals["legacy"], h.Totals["symphony"]
		out[i] = bridgeView{BridgeHistory: h,
			Rows: []compareRow{
				{"Rows handled", fmt.Sprint(lg.Finished), fmt.Sprint(sy.Finished)},
				{"Success rate", rate(lg.SuccessRate()), rate(sy.SuccessRate())},
				{"p50 time to send", duration(lg.Latency.Quantile(0.5)), duration(sy.Latency.Quantile(0.5))},
				{"p95 time to send", duration(lg.Latency.Quantile(0.95)), duration(sy.Latency.Quantile(0.95))},
				{"Failures", fmt.Sprint(lg.Failed), fmt.Sprint(sy.Failed)},
				{"Rows handed back to legacy", "", fmt.Sprint(lg.HandedBack + sy.HandedBack)},
			},
			Handled: lineChart{Title: h.Bridge + ": rows finished by each system", X: h.Steps, Step: d.Window.Step,
				Markers: marks, Series: []series{{"legacy", "s-legacy", values(h.Legacy, finished)},
					{"Symphony", "s-symphony", values(h.Symphony, finished)}}}.SVG(),
			Rollout: lineChart{Title: "flag " + h.Flag + ": share routed to Symphony", Unit: " %", X: h.Steps, Step: d.Window.Step,
				YMax: 100, Stepped: true, Markers: marks, Series: []series{{"rollout", "s-rollout", pct}}}.SVG(),
		}
	}
	return out, nil
}

// percentAt is the rollout in force just before t.
func percentAt(steps []ops.RolloutStep, t time.Time) int {
	p := 0
	for _, s := range steps {
		if s.At.Before(t) {
			p = s.Percent
		}
	}
	return p
}

func changeLabel(c ops.FlagEvent) string {
	switch {
	case c.NewEnabled != nil && c.OldEnabled != nil && *c.NewEnabled != *c.OldEnabled && !*c.NewEnabled:
		return c.Flag + " off"
	case c.NewPercent != nil && (c.OldPercent == nil || *c.NewPercent != *c.OldPercent):
		return fmt.Sprintf("%d %%", *c.NewPercent)
	default:
		return c.Flag + " on"
	}
}

func changeText(c ops.FlagEvent) string {
	t := "flag " + c.Flag
	if c.OldEnabled != nil && c.NewEnabled != nil && *c.OldEnabled != *c.NewEnabled {
		t += fmt.Sprintf(" %s → %s", onOff(*c.OldEnabled), onOff(*c.NewEnabled))
	}
	if c.OldPercent != nil && c.NewPercent != nil && *c.OldPercent != *c.NewPercent {
		t += fmt.Sprintf(" %d → %d %%", *c.OldPercent, *c.NewPercent)
	}
	return t
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func rate(pct float64, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", pct)
}
