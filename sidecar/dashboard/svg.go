package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG: no script, nothing fetched, so
// the page keeps its strict Content-Security-Policy and costs the browser and
// the sidecar next to nothing. Colours come from CSS classes in the layout.
// Every drawn element carries data- attributes naming what it shows, which the
// tests read back.

const (
	chartW   = 560
	chartH   = 200
	padLeft  = 48
	padRight = 12
	padTop   = 22
	padBot   = 24
)

// series is one line: Values has one entry per X (NaN: nothing to draw there).
type series struct {
	Name   string
	Class  string
	Values []float64
}

// marker is a vertical line at an instant, such as a flag change.
type marker struct {
	At    time.Time
	Label string // drawn at the top
	Title string // shown on hover
}

// threshold is a horizontal line, such as a mailbox provider's limit.
type threshold struct {
	Value float64
	Label string
}

type lineChart struct {
	Title      string
	Unit       string // appended to the y labels
	X          []time.Time
	Step       time.Duration // width of one X step
	Series     []series
	Markers    []marker
	Thresholds []threshold
	YMax       float64 // 0: from the data
	Stepped    bool    // draw as steps (a value holds until the next)
	DayLabels  bool    // x labels as dates rather than times
}

func (c lineChart) yMax() float64 {
	if c.YMax > 0 {
		return c.YMax
	}
	m := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && v > m {
				m = v
			}
		}
	}
	for _, t := range c.Thresholds {
		m = max(m, t.Value*1.25)
	}
	return niceCeil(m)
}

// niceCeil rounds up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if v <= f*p {
			return f * p
		}
	}
	return 10 * p
}

func (c lineChart) x(t time.Time) float64 {
	if len(c.X) == 0 {
		return padLeft
	}
	start := c.X[0]
	span := c.X[len(c.X)-1].Add(c.Step).Sub(start)
	f := float64(t.Sub(start)) / float64(span)
	return padLeft + math.Max(0, math.Min(1, f))*float64(chartW-padLeft-padRight)
}

func (c lineChart) y(v, top float64) float64 {
	h := float64(chartH - padTop - padBot)
	return padTop + h - math.Min(v/top, 1.02)*h
}

// SVG draws the chart.
func (c lineChart) SVG() template.HTML {
	var b strings.Builder
	top := c.yMax()
	esc := template.HTMLEscapeString
	b.WriteString(`<figure class="fig">`)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" data-chart="%s">`,
		chartW, chartH, esc(c.Title), esc(c.Title))
	fmt.Fprintf(&b, `<text class="ctitle" x="%d" y="14">%s</text>`, padLeft, esc(c.Title))
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := c.y(v, top)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padLeft, chartW-padRight, y, y)
		fmt.Fprintf(&b, `<text class="ylab" x="%d" y="%.1f">%s</text>`, padLeft-4, y+3, esc(number(v)+c.Unit))
	}
	if n := len(c.X); n > 0 {
		every := max(1, n/6)
		for i := 0; i < n; i += every {
			label := c.X[i].UTC().Format("15:04")
			if c.DayLabels {
				label = c.X[i].UTC().Format("Jan 2")
			}
			fmt.Fprintf(&b, `<text class="xlab" x="%.1f" y="%d">%s</text>`, c.x(c.X[i]), chartH-8, label)
		}
	}
	for _, t := range c.Thresholds {
		y := c.y(t.Value, top)
		fmt.Fprintf(&b, `<line class="threshold" data-threshold="%g" x1="%d" x2="%d" y1="%.1f" y2="%.1f"><title>%s</title></line>`,
			t.Value, padLeft, chartW-padRight, y, y, esc(t.Label))
		fmt.Fprintf(&b, `<text class="tlab" x="%d" y="%.1f">%s</text>`, chartW-padRight-2, y-3, esc(t.Label))
	}
	for _, s := range c.Series {
		c.line(&b, s, top)
	}
	for i, m := range c.Markers {
		x := c.x(m.At)
		fmt.Fprintf(&b, `<g class="marker" data-marker="%s"><title>%s</title><line x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`,
			esc(m.Label), esc(m.Title), x, x, padTop-4, chartH-padBot)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text></g>`, x+3, padTop+6+10*(i%2), esc(m.Label))
	}
	b.WriteString(`</svg>`)
	b.WriteString(`<div class="legend">`)
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<span><i class="sw %s"></i>%s</span>`, esc(s.Class), esc(s.Name))
	}
	b.WriteString(`</div></figure>`)
	return template.HTML(b.String())
}

// line draws one series as a polyline per run of values (NaN breaks it).
func (c lineChart) line(b *strings.Builder, s series, top float64) {
	var pts []string
	flush := func() {
		if len(pts) > 0 {
			fmt.Fprintf(b, `<polyline class="series %s" data-series="%s" points="%s"/>`,
				template.HTMLEscapeString(s.Class), template.HTMLEscapeString(s.Name), strings.Join(pts, " "))
		}
		pts = pts[:0]
	}
	for i, v := range s.Values {
		if i >= len(c.X) || math.IsNaN(v) {
			flush()
			continue
		}
		x0 := c.x(c.X[i])
		y := c.y(v, top)
		if c.Stepped {
			x1 := c.x(c.X[i].Add(c.Step))
			if i+1 < len(c.X) {
				x1 = c.x(c.X[i+1])
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x0, y), fmt.Sprintf("%.1f,%.1f", x1, y))
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(c.X[i].Add(c.Step/2)), y))
	}
	flush()
}

// number prints a chart label: whole numbers plainly, small ones with the
// digits that matter.
func number(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case v >= 1e4:
		return fmt.Sprintf("%gk", math.Round(v/100)/10)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// segment is one part of a stacked bar.
type segment struct {
	Name  string
	Class string
	N     int64
}

// bar draws segments side by side across the full width, each as wide as its
// share of the total.
func bar(label string, segs []segment) template.HTML {
	var total int64
	for _, s := range segs {
		total += s.N
	}
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="bar" viewBox="0 0 1000 18" preserveAspectRatio="none" role="img" aria-label="%s" data-bar="%s">`,
		esc(label), esc(label))
	x := 0.0
	for _, s := range segs {
		if s.N == 0 || total == 0 {
			continue
		}
		w := 1000 * float64(s.N) / float64(total)
		fmt.Fprintf(&b, `<rect class="%s" data-segment="%s" data-n="%d" x="%.2f" y="0" width="%.2f" height="18"><title>%s: %d</title></rect>`,
			esc(s.Class), esc(s.Name), s.N, x, w, esc(s.Name), s.N)
		x += w
	}
	if total == 0 {
		b.WriteString(`<rect class="none" x="0" y="0" width="1000" height="18"/>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
