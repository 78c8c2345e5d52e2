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
	Services []struct {
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
	} `toml:"services"`
}

// The commented webhooks block, uncommented as the README says, is valid and
// publishes the webhook port only, over HTTPS, with auto-stop off.
func TestFlyToml_WebhooksServiceBlock(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "fly.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	begin, end := strings.Index(text, "# --- webhooks: begin\n"), strings.Index(text, "# --- webhooks: end")
	if begin < 0 || end < begin {
		t.Fatal("fly.toml has no commented webhooks block")
	}
	block := text[begin+len("# --- webhooks: begin\n") : end]
	uncommented := text[:begin] + regexp.MustCompile(`(?m)^# ?`).ReplaceAllString(block, "")
	var c flyServices
	md, err := toml.Decode(uncommented, &c)
	if err != nil {
		t.Fatalf("the uncommented webhooks block does not parse: %v", err)
	}
	for _, k := range md.Undecoded() {
		if k[0] == "services" {
			t.Errorf("fly.toml key %s is not checked by this test", k)
		}
	}
	if len(c.Services) != 1 {
		t.Fatalf("the webhooks block has %d [[services]], want 1", len(c.Services))
	}
	s := c.Services[0]
	webhooks := port(t, c.Env["SYMPHONY_WEBHOOK_ADDR"])
	if s.InternalPort != webhooks || webhooks == port(t, c.Env["SYMPHONY_HTTP_ADDR"]) || webhooks == port(t, c.Env["SYMPHONY_DASHBOARD_ADDR"]) {
		t.Errorf("internal_port %d: want the webhook port (SYMPHONY_WEBHOOK_ADDR, %d), apart from /metrics' and the dashboard's", s.InternalPort, webhooks)
	}
	if s.Protocol != "tcp" {
		t.Errorf("protocol %q", s.Protocol)
	}
	if s.AutoStopMachines != "off" && s.AutoStopMachines != false {
		t.Errorf("auto_stop_machines = %v: Fly would stop idle workers", s.AutoStopMachines)
	}
	if s.AutoStartMachines || s.MinMachinesRunning < 1 {
		t.Errorf("auto_start_machines %v, min_machines_running %d: machines must just keep running", s.AutoStartMachines, s.MinMachinesRunning)
	}
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
