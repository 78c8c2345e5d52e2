package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// flyServices is fly.toml's [[services]], which flyConfig keeps untyped.
type flyServices struct {
	Env      map[string]string `toml:"env"`
	Services []flyService      `toml:"services"`
}

type flyService struct {
	InternalPort       int    `toml:"internal_port"`
	Protocol           string `toml:"protocol"`
	AutoStopMachines   any    `toml:"auto_stop_machines"`
	AutoStartMachines  bool   `toml:"auto_start_machines"`
	MinMachinesRunning int    `toml:"min_machines_running"`
	Ports              []struct {
		Port       int      `toml:"port"`
		Handlers   []string `toml:"handlers"`
		ForceHTTPS bool     `toml:"force_https"`
	} `toml:"ports"`
}

// flyBlocks parses fly.toml with the named commented blocks ("dashboard",
// "webhooks") uncommented, as docs/providers.md says to, failing on any key of a
// [[services]] this file's tests do not check.
func flyBlocks(t *testing.T, names ...string) flyServices {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "fly.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, name := range names {
		open, end := "# --- "+name+": begin\n", "# --- "+name+": end"
		begin, stop := strings.Index(text, open), strings.Index(text, end)
		if begin < 0 || stop < begin {
			t.Fatalf("fly.toml has no commented %s block", name)
		}
		block := text[begin+len(open) : stop]
		text = text[:begin] + regexp.MustCompile(`(?m)^# ?`).ReplaceAllString(block, "") + text[stop+len(end):]
	}
	var c flyServices
	md, err := toml.Decode(text, &c)
	if err != nil {
		t.Fatalf("fly.toml with the %v blocks uncommented does not parse: %v", names, err)
	}
	for _, k := range md.Undecoded() {
		if k[0] == "services" {
			t.Errorf("fly.toml key %s is not checked by these tests", k)
		}
	}
	return c
}

// checkKeepsRunning fails unless s keeps every machine running: a worker must
// not be stopped by Fly's proxy for want of public traffic.
func checkKeepsRunning(t *testing.T, s flyService) {
	t.Helper()
	if s.Protocol != "tcp" {
		t.Errorf("protocol %q", s.Protocol)
	}
	if s.AutoStopMachines != "off" && s.AutoStopMachines != false {
		t.Errorf("auto_stop_machines = %v: Fly would stop idle workers", s.AutoStopMachines)
	}
	if s.AutoStartMachines || s.MinMachinesRunning < 1 {
		t.Errorf("auto_start_machines %v, min_machines_running %d: machines must just keep running", s.AutoStartMachines, s.MinMachinesRunning)
	}
}

// The commented webhooks block, uncommented as docs/providers.md says, is valid and
// publishes the webhook port only, over HTTPS, with auto-stop off.
func TestFlyToml_WebhooksServiceBlock(t *testing.T) {
	t.Parallel()
	c := flyBlocks(t, "webhooks")
	if len(c.Services) != 1 {
		t.Fatalf("the webhooks block has %d [[services]], want 1", len(c.Services))
	}
	s := c.Services[0]
	webhooks := port(t, c.Env["SYMPHONY_WEBHOOK_ADDR"])
	if s.InternalPort != webhooks || webhooks == port(t, c.Env["SYMPHONY_HTTP_ADDR"]) || webhooks == port(t, c.Env["SYMPHONY_DASHBOARD_ADDR"]) {
		t.Errorf("internal_port %d: want the webhook port (SYMPHONY_WEBHOOK_ADDR, %d), apart from /metrics' and the dashboard's", s.InternalPort, webhooks)
	}
	checkKeepsRunning(t, s)
	tls, redirect := false, false
	for _, p := range s.Ports {
		switch p.Port {
		case 443:
			tls = strings.Join(p.Handlers, ",") == "tls,http"
		case 80:
			redirect = p.ForceHTTPS && strings.Join(p.Handlers, ",") == "http"
		default:
			t.Errorf("an unexpected public port %d", p.Port)
		}
	}
	if !tls || !redirect {
		t.Errorf("ports %+v: want 443 with the tls and http handlers, and 80 redirecting to https", s.Ports)
	}
}

// Both blocks on at once: two services, no public port claimed twice.
func TestFlyToml_DashboardAndWebhooksTogether(t *testing.T) {
	t.Parallel()
	c := flyBlocks(t, "dashboard", "webhooks")
	if len(c.Services) != 2 {
		t.Fatalf("%d [[services]] with both blocks on, want 2", len(c.Services))
	}
	seen := map[int]int{}
	for _, s := range c.Services {
		for _, p := range s.Ports {
			if other, dup := seen[p.Port]; dup {
				t.Errorf("public port %d is claimed by internal ports %d and %d", p.Port, other, s.InternalPort)
			}
			seen[p.Port] = s.InternalPort
		}
	}
}
