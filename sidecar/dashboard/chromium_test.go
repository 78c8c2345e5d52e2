package dashboard_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/chromium"
)

// Each view in a real browser over the seeded database: the DOM Chromium
// builds holds the drawn charts, bars and markers, and the screenshot shows
// them in their colours. With SYMPHONY_DASHBOARD_SCREENSHOTS=DIR the
// screenshots are kept as DIR/dashboard-<view>.png: docs/dashboard.md shows
// the ones made with DIR=docs.
func TestDashboard_ViewsInHeadlessChromium(t *testing.T) {
	t.Parallel()
	db, srv := seeded(t)
	if dom := string(chromium.Run(t, 1280, 900, "--dump-dom", srv.URL+"/dashboard/migration")); !strings.Contains(dom, "Enter the dashboard token") ||
		strings.Contains(dom, "data-chart") {
		t.Fatalf("without the token chromium sees:\n%.1000s", dom)
	}
	// As an authenticating proxy in front of the dashboard would, add the token.
	ps := chromium.BearerProxy(t, srv.URL, token)

	green, red, purple, amber := rgb(0x18794e), rgb(0xc0262d), rgb(0x7a4cc2), rgb(0xd08700)
	// The overview's queue table shows the failure queue's depth, its failures list the reasons.
	deadEmail := scalar[int64](t, db, `select count(*) from symphony.messages where queue = 'email' and state = 'dead'`)
	if deadEmail == 0 {
		t.Fatal("the seed left no dead email")
	}
	for _, v := range []struct {
		name, path string
		height     int
		dom        []string
		colours    []color.RGBA // series, bars, thresholds and markers that must show
	}{
		{"overview", "/dashboard", 900, []string{"Queues", "Recent failures", "Sidecars", "Flags",
			fmt.Sprintf(`<td class="n bad">%d</td>`, deadEmail), `<span class="pill dead">dead</span>`, "The to address is invalid.",
			">Retry</button>", "email_queue"}, []color.RGBA{green, red}},
		{"activity", "/dashboard/activity", 1000, []string{`data-queue="email"`, `data-queue="sms"`,
			`data-series="sent"`, `data-series="dead"`, `data-series="p95"`}, []color.RGBA{green, red, amber}},
		{"migration", "/dashboard/migration", 900, []string{`data-bridge="email_queue"`, `data-marker="10 %"`,
			`data-marker="50 %"`, `data-marker="100 %"`, "raj@acme.test", `data-series="legacy"`, `data-series="rollout"`},
			[]color.RGBA{green, purple}},
		{"campaigns", "/dashboard/campaigns", 1000, []string{`data-campaign="December newsletter"`, `data-segment="failed"`,
			`data-segment="delivered"`, `data-drip="Onboarding SMS"`, ">pause</button>", ">resume</button>", ">cancel</button>"},
			[]color.RGBA{green, red, purple, amber}},
		// The overview's last sections, the page's foot (height 0: the
		// whole page, cropped to its last 700 pixels): a limit a provider
		// stated, and Twilio's account concurrency learned from its 429s.
		{"rate-limits", "/dashboard", 0, []string{`<section id="rate-limits">`, "ratelimit-limit header",
			"100 in flight", "429s over the account's concurrency"}, nil},
		{"delivery", "/dashboard/delivery", 1250, []string{`data-channel="email"`, `data-threshold="0.3"`,
			`data-series="complained"`, "Gmail/Yahoo limit"}, []color.RGBA{green, red}},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			height := v.height
			if height == 0 {
				height = 9000
			}
			dom, img, b := chromium.Render(t, ps+v.path, 1280, height)
			if v.height == 0 {
				img, b = foot(t, img, 700)
			}
			for _, want := range v.dom {
				if !strings.Contains(dom, want) {
					t.Errorf("chromium's DOM of %s lacks %q", v.path, want)
				}
			}
			if n := chromium.DistinctColors(img, 64); n < 64 {
				t.Errorf("the screenshot has %d distinct colours: a blank or error page", n)
			}
			for _, c := range v.colours {
				if n := countColour(img, c); n < 30 {
					t.Errorf("the screenshot of %s shows colour #%02x%02x%02x in %d pixels: not drawn", v.path, c.R, c.G, c.B, n)
				}
			}
			if dir := os.Getenv("SYMPHONY_DASHBOARD_SCREENSHOTS"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, "dashboard-"+v.name+".png"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// foot crops img to the last height pixels above the bottom of the page's
// content (the rows below it are all near the colour of the window's last
// pixel, the page's background), and returns it with its PNG.
func foot(t *testing.T, img image.Image, height int) (image.Image, []byte) {
	t.Helper()
	r := img.Bounds()
	bg := color.RGBAModel.Convert(img.At(r.Max.X-1, r.Max.Y-1)).(color.RGBA)
	end := r.Max.Y
	for ; end > r.Min.Y; end-- {
		blank := true
		for x := r.Min.X; x < r.Max.X && blank; x++ {
			p := color.RGBAModel.Convert(img.At(x, end-1)).(color.RGBA)
			blank = near(p.R, bg.R) && near(p.G, bg.G) && near(p.B, bg.B)
		}
		if !blank {
			break
		}
	}
	if end >= r.Max.Y {
		t.Fatalf("the page is taller than the %d-pixel window: no foot to crop", r.Dy())
	}
	end = min(end+24, r.Max.Y)
	crop := image.NewRGBA(image.Rect(0, 0, r.Dx(), min(height, end-r.Min.Y)))
	draw.Draw(crop, crop.Bounds(), img, image.Pt(r.Min.X, end-crop.Bounds().Dy()), draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, crop); err != nil {
		t.Fatal(err)
	}
	return crop, buf.Bytes()
}

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// countColour counts the pixels within a small distance of c (antialiasing
// blends the edges of thin lines).
func countColour(img image.Image, c color.RGBA) int {
	n := 0
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if near(p.R, c.R) && near(p.G, c.G) && near(p.B, c.B) {
				n++
			}
		}
	}
	return n
}

func near(a, b uint8) bool { return int(a)-int(b) <= 12 && int(b)-int(a) <= 12 }
