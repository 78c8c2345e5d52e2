package httpx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true}, // in the past: no wait
		{"99999999999", httpx.MaxRetryAfter, true},
		{"Tue, 01 Mar 2044 12:00:00 GMT", httpx.MaxRetryAfter, true},
	}
	for _, tt := range tests {
		got, ok := httpx.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseUnixReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"x", 0, false},
		{"1772366460", time.Minute, true}, // now + 60s
		{"1772366000", 0, true},           // past
		{"99999999999", httpx.MaxRetryAfter, true},
	}
	for _, tt := range tests {
		got, ok := httpx.ParseUnixReset(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseUnixReset(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Sun, 01 Mar 2026 12:00:30 GMT", "-1", "9223372036854775807", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := httpx.ParseRetryAfter(s, now)
		if d < 0 || d > httpx.MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v out of range", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v but not ok", s, d)
		}
		if d, _ := httpx.ParseUnixReset(s, now); d < 0 || d > httpx.MaxRetryAfter {
			t.Fatalf("ParseUnixReset(%q) = %v out of range", s, d)
		}
	})
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want, err string
	}{
		{"", "https://api.default.test", ""},
		{"  ", "https://api.default.test", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", ""},
		{"https://api.eu.sendgrid.com", "https://api.eu.sendgrid.com", ""},
		{"https://proxy.test/resend/", "https://proxy.test/resend", ""},
		{"ftp://x", "", "scheme"},
		{"api.resend.com", "", "scheme"},
		{"https://", "", "host"},
		{"https://user:hunter2@x", "", "credentials"},
		{"https://x?key=1", "", "query"},
		{"https://x/%zz", "", "valid"},
	}
	for _, tt := range tests {
		got, err := httpx.BaseURL(tt.raw, "https://api.default.test")
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("BaseURL(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("BaseURL(%q) err = %v, want it to mention %q", tt.raw, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("BaseURL error echoes a password: %v", err)
		}
	}
}

func TestJSONDoesNotEscapeHTML(t *testing.T) {
	t.Parallel()
	b, err := httpx.JSON(map[string]string{"html": "<p>a & b</p>"})
	if err != nil || string(b) != `{"html":"<p>a & b</p>"}` {
		t.Errorf("JSON = %s, %v", b, err)
	}
}
