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
// a histogram adds.
func names(t *testing.T) map[string]bool {
	m := metrics.New()
	m.WatchWALFeed(func() bool { return false })
	out := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([a-z_:]+)"`)
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
			if mm := fq.FindStringSubmatch(d.String()); mm != nil {
				out[mm[1]] = true
			}
		}
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		out[f.GetName()] = true
	}
	for n := range out {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			out[n+suffix] = true
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\bsymphony_[a-z_]+[a-z]\b`)

// The Grafana dashboard and the alerting rules use only metrics the sidecar
// exports.
func TestMonitoring_UsesExportedMetrics(t *testing.T) {
	known := names(t)
	if !known["symphony_delivery_ratio"] || !known["symphony_rate_limit_waits_total"] {
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
			if !known[n] {
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
