package metrics_test

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
)

// names returns every metric name the sidecar exports, with the series names
// a histogram adds, each with its label names.
func names(t *testing.T) map[string]map[string]bool {
	m := metrics.New()
	m.WatchWALFeed(func() bool { return false })
	out := map[string]map[string]bool{}
	desc := regexp.MustCompile(`fqName: "([a-z_:]+)".*variableLabels: \{([^}]*)\}`)
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanInterface() {
			continue
		}
		c, ok := f.Interface().(prometheus.Collector)
		if !ok || f.IsNil() {
			continue
		}
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if mm := desc.FindStringSubmatch(d.String()); mm != nil {
				labels := map[string]bool{}
				for _, l := range strings.Split(mm[2], ",") {
					if l != "" {
						labels[l] = true
					}
				}
				out[mm[1]] = labels
			}
		}
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if out[f.GetName()] == nil {
			out[f.GetName()] = map[string]bool{}
		}
		for _, x := range f.GetMetric() {
			for _, l := range x.GetLabel() {
				out[f.GetName()][l.GetName()] = true
			}
		}
	}
	for n, labels := range out {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if out[n+suffix] == nil {
				out[n+suffix] = labels
			}
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\bsymphony_[a-z_]+[a-z]\b`)

// The Grafana dashboard and the alerting rules use only metrics the sidecar
// exports.
func TestMonitoring_UsesExportedMetrics(t *testing.T) {
	known := names(t)
	if known["symphony_delivery_ratio"] == nil || known["symphony_rate_limit_waits_total"] == nil {
		t.Fatalf("the metric list is incomplete: %v", known)
	}
	for _, file := range []string{"../../monitoring/grafana-dashboard.json", "../../monitoring/alerts.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		used := metricName.FindAllString(string(b), -1)
		if len(used) < 5 {
			t.Fatalf("%s uses %d symphony metrics", file, len(used))
		}
		for _, n := range used {
			if known[n] == nil {
				t.Errorf("%s uses %s, which the sidecar does not export", file, n)
			}
		}
	}
}

// The dashboard imports into Grafana: it asks for a Prometheus data source and
// every panel uses it, with unique ids and a place on the grid.
func TestMonitoring_GrafanaDashboardImports(t *testing.T) {
	b, err := os.ReadFile("../../monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct{ Name, Type, PluginID string } `json:"__inputs"`
		Title  string
		UID    string
		Panels []struct {
			ID         int
			Type       string
			Title      string
			Datasource *struct{ Type, UID string }
			GridPos    *struct{ X, Y, W, H int }
			Targets    []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" || d.UID == "" || d.Title == "" {
		t.Fatalf("inputs %+v, uid %q, title %q", d.Inputs, d.UID, d.Title)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] || p.GridPos == nil || p.GridPos.W == 0 {
			t.Errorf("panel %q: duplicate id or no place on the grid", p.Title)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: no query on the imported data source", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
				t.Errorf("panel %q: unbalanced query %s", p.Title, tg.Expr)
			}
		}
	}
}

// queries returns the PromQL of the Grafana dashboard's panels and of the
// alerting rules.
func queries(t *testing.T) map[string][]string {
	out := map[string][]string{}
	b, err := os.ReadFile("../../monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct{ Targets []struct{ Expr string } }
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out["grafana-dashboard.json"] = append(out["grafana-dashboard.json"], tg.Expr)
		}
	}
	b, err = os.ReadFile("../../monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if _, expr, ok := strings.Cut(line, "expr: "); ok {
			out["alerts.yml"] = append(out["alerts.yml"], strings.TrimSpace(expr))
		}
	}
	if len(out["grafana-dashboard.json"]) < 5 || len(out["alerts.yml"]) < 5 {
		t.Fatalf("too few queries found: %v", out)
	}
	return out
}

var (
	selector = regexp.MustCompile(`(symphony_[a-z_]*[a-z])\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// The queries select and group by labels the metrics have: a label the
// sidecar does not set matches nothing, and the panel or alert stays empty
// without an error.
func TestMonitoring_UsesExportedLabels(t *testing.T) {
	known := names(t)
	scrape := map[string]bool{"job": true, "instance": true}
	b, err := os.ReadFile("../../monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`label_values\((symphony_[a-z_]*[a-z]), *([a-z_]+)\)`).FindAllStringSubmatch(string(b), -1) {
		if known[m[1]] == nil || !known[m[1]][m[2]] {
			t.Errorf("grafana-dashboard.json: variable from %s, which has no label %q", m[0], m[2])
		}
	}
	for file, exprs := range queries(t) {
		for _, expr := range exprs {
			for _, m := range selector.FindAllStringSubmatch(expr, -1) {
				for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
					if known[m[1]] != nil && !known[m[1]][l[1]] && !scrape[l[1]] {
						t.Errorf("%s: %s selects on label %q, which %s does not have", file, expr, l[1], m[1])
					}
				}
			}
			// Grouping labels must be on every symphony metric of the query.
			used := metricName.FindAllString(expr, -1)
			for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
				for _, l := range strings.Split(g[1], ",") {
					l = strings.TrimSpace(l)
					for _, n := range used {
						has := known[n] != nil && known[n][l]
						if !has && !scrape[l] && !(l == "le" && strings.HasSuffix(n, "_bucket")) {
							t.Errorf("%s: %s groups by %q, which %s does not have", file, expr, l, n)
						}
					}
				}
			}
		}
	}
}
