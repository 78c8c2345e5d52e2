// Package chromium runs Debian's headless Chromium for the tests that look at
// the dashboard as a browser does (scripts/install-deps.sh installs it).
package chromium

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Run runs chromium headless in a window of width×height with args, and
// returns its standard output.
func Run(t testing.TB, width, height int, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed; run scripts/install-deps.sh (Debian package chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height)}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// Render loads url once in a window of width×height and returns the DOM
// Chromium built from it, and a screenshot, decoded and as PNG bytes.
func Render(t testing.TB, url string, width, height int) (dom string, img image.Image, shotPNG []byte) {
	t.Helper()
	shot := t.TempDir() + "/shot.png"
	dom = string(Run(t, width, height, "--dump-dom", "--screenshot="+shot, url))
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err = png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	return dom, img, b
}

// DistinctColors counts colours in img (every other pixel), stopping at limit.
func DistinctColors(img image.Image, limit int) int {
	seen := map[color.RGBA]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// BearerProxy serves target through a reverse proxy that adds
// "Authorization: Bearer token" to every request, as an authenticating proxy
// in front of the dashboard would, and returns its URL.
func BearerProxy(t testing.TB, target, token string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	inner := proxy.Director
	proxy.Director = func(r *http.Request) {
		inner(r)
		r.Header.Set("Authorization", "Bearer "+token)
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	return ps.URL
}
