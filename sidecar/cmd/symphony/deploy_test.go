package main

import (
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/symphonymessenger/symphony/sidecar/config"
	sidecarworker "github.com/symphonymessenger/symphony/sidecar/worker"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// flyConfig is the part of fly.toml the sidecar depends on.
type flyConfig struct {
	App         string            `toml:"app"`
	KillSignal  string            `toml:"kill_signal"`
	KillTimeout any               `toml:"kill_timeout"` // seconds, or a duration string
	Env         map[string]string `toml:"env"`
	Build       struct {
		Dockerfile string `toml:"dockerfile"`
	} `toml:"build"`
	Checks map[string]struct {
		Type        string `toml:"type"`
		Port        int    `toml:"port"`
		Path        string `toml:"path"`
		Interval    string `toml:"interval"`
		Timeout     string `toml:"timeout"`
		GracePeriod string `toml:"grace_period"`
	} `toml:"checks"`
	Metrics struct {
		Port int    `toml:"port"`
		Path string `toml:"path"`
	} `toml:"metrics"`
	HTTPService *struct {
		InternalPort       int  `toml:"internal_port"`
		ForceHTTPS         bool `toml:"force_https"`
		AutoStopMachines   any  `toml:"auto_stop_machines"`
		AutoStartMachines  bool `toml:"auto_start_machines"`
		MinMachinesRunning int  `toml:"min_machines_running"`
	} `toml:"http_service"`
	Services []map[string]any `toml:"services"`
}

func parseFly(t *testing.T, text string) flyConfig {
	t.Helper()
	var c flyConfig
	md, err := toml.Decode(text, &c)
	if err != nil {
		t.Fatalf("fly.toml does not parse: %v", err)
	}
	for _, k := range md.Undecoded() {
		if top := k[0]; top != "vm" && top != "deploy" && top != "primary_region" {
			t.Errorf("fly.toml key %s is not checked by this test; check it or list it here", k)
		}
	}
	return c
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

// The worker's fly.toml: checks on /readyz, metrics scraped privately, a kill
// timeout longer than the drain, no public service, nothing that auto-stops.
func TestFlyToml_WorkerConfiguration(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "fly.toml"))
	if err != nil {
		t.Fatal(err)
	}
	c := parseFly(t, string(b))

	if c.KillSignal != "SIGTERM" {
		t.Errorf("kill_signal %q: the sidecar drains on SIGTERM", c.KillSignal)
	}
	var kill time.Duration
	switch v := c.KillTimeout.(type) {
	case int64:
		kill = time.Duration(v) * time.Second
	case string:
		if kill, err = time.ParseDuration(v); err != nil {
			t.Fatalf("kill_timeout %q: %v", v, err)
		}
	default:
		t.Fatalf("kill_timeout %v (%T) is not seconds or a duration", v, v)
	}
	shutdown := config.Default().ShutdownTimeout
	if v := c.Env["SYMPHONY_SHUTDOWN_TIMEOUT"]; v != "" {
		if shutdown, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SYMPHONY_SHUTDOWN_TIMEOUT %q: %v", v, err)
		}
	}
	if kill <= shutdown+sidecarworker.FinalWriteGrace {
		t.Errorf("kill_timeout %s must exceed SYMPHONY_SHUTDOWN_TIMEOUT %s + %s of final writes, or Fly kills the drain",
			kill, shutdown, sidecarworker.FinalWriteGrace)
	}

	httpPort := port(t, c.Env["SYMPHONY_HTTP_ADDR"])
	ready := false
	for name, ch := range c.Checks {
		interval, err1 := time.ParseDuration(ch.Interval)
		timeout, err2 := time.ParseDuration(ch.Timeout)
		_, err3 := time.ParseDuration(ch.GracePeriod)
		if err1 != nil || err2 != nil || err3 != nil || timeout >= interval {
			t.Errorf("check %s: interval %q, timeout %q, grace_period %q must be durations, timeout below interval",
				name, ch.Interval, ch.Timeout, ch.GracePeriod)
		}
		if ch.Type == "http" && ch.Path == "/readyz" && ch.Port == httpPort {
			ready = true
		} else {
			t.Errorf("check %s (%+v) is not an HTTP check of /readyz on port %d", name, ch, httpPort)
		}
	}
	if !ready {
		t.Error("no machine check on /readyz")
	}
	if c.Metrics.Port != httpPort || c.Metrics.Path != "/metrics" {
		t.Errorf("[metrics] %+v, want port %d path /metrics", c.Metrics, httpPort)
	}
	if c.HTTPService != nil || len(c.Services) > 0 {
		t.Error("the worker has a public service; the dashboard's is documented commented out, for those who set a token")
	}
	if _, err := os.Stat(filepath.Join(root, c.Build.Dockerfile)); err != nil {
		t.Errorf("[build] dockerfile %q: %v", c.Build.Dockerfile, err)
	}
	if c.App == "" {
		t.Error("no app name")
	}
}

// The commented dashboard block, uncommented as docs/operations.md says, is valid and
// publishes the dashboard's port only, over TLS only (port 8443, away from the
// webhooks' 443 and 80), with auto-stop off.
func TestFlyToml_DashboardServiceBlock(t *testing.T) {
	t.Parallel()
	c := flyBlocks(t, "dashboard")
	if len(c.Services) != 1 {
		t.Fatalf("the dashboard block has %d [[services]], want 1", len(c.Services))
	}
	s := c.Services[0]
	if s.InternalPort != port(t, c.Env["SYMPHONY_DASHBOARD_ADDR"]) || s.InternalPort == port(t, c.Env["SYMPHONY_HTTP_ADDR"]) {
		t.Errorf("internal_port %d: want the dashboard's port (SYMPHONY_DASHBOARD_ADDR), never /metrics' and /status'", s.InternalPort)
	}
	checkKeepsRunning(t, s)
	if len(s.Ports) != 1 || s.Ports[0].Port != 8443 || strings.Join(s.Ports[0].Handlers, ",") != "tls,http" {
		t.Errorf("ports %+v: want 8443 alone, with the tls and http handlers (no plain-HTTP port: the token would cross the internet in clear)", s.Ports)
	}
}

// The binary the image ships, built by running the Dockerfile's own `go build`
// line: static (no ELF interpreter, no shared libraries), stamped with the
// version, and small.
func TestDockerfile_BuildsAStaticBinary(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(b), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*-o /out/symphony .*)$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile has no `RUN CGO_ENABLED=0 go build … -o /out/symphony …` line")
	}
	if !strings.Contains(df, "FROM gcr.io/distroless/static") || !strings.Contains(df, "USER nonroot") {
		t.Error("the runtime image is not distroless static as a non-root user")
	}
	out := filepath.Join(t.TempDir(), "symphony")
	script := strings.ReplaceAll(strings.ReplaceAll(m[1], "${VERSION}", "v9.8.7-test"), "/out/symphony", out)
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = root // the image's WORKDIR holds go.mod, sql/ and sidecar/, as the repository root does
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, o)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked and will not run on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary keeps its symbol table: -s -w should strip it")
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "v9.8.7-test" {
		t.Errorf("symphony version: %q, %v; want the VERSION build argument", v, err)
	}
	st, _ := os.Stat(out)
	t.Logf("static binary: %.1f MiB", float64(st.Size())/(1<<20))
}

// deploy.sh refuses to deploy without the fly CLI or without DATABASE_URL among
// the secrets, and otherwise runs fly deploy with the git version.
func TestDeployScript_Preflight(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	fakeBin := t.TempDir()
	log := filepath.Join(t.TempDir(), "fly.log")
	fake := `#!/bin/sh
echo "$*" >> "` + log + `"
case "$1 $2" in
"auth whoami") echo ops@example.com ;;
"secrets list") printf '%s\n' "$FAKE_SECRETS" ;;
"deploy "*) echo deployed ;;
esac
`
	if err := os.WriteFile(filepath.Join(fakeBin, "fly"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(path, secrets string, args ...string) (int, string) {
		cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "deploy.sh")}, args...)...)
		cmd.Env = []string{"PATH=" + path, "HOME=" + t.TempDir(), "FAKE_SECRETS=" + secrets}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	system := "/usr/local/bin:/usr/bin:/bin"

	if code, out := run(t.TempDir()+":"+system, ""); code != 1 || !strings.Contains(out, "the fly CLI is not installed") {
		t.Fatalf("without fly: exit %d\n%s", code, out)
	}
	if code, out := run(fakeBin+":"+system, `[{"Name":"RESEND_API_KEY"}]`); code != 1 || !strings.Contains(out, "secret DATABASE_URL is not set") {
		t.Fatalf("without DATABASE_URL: exit %d\n%s", code, out)
	}
	code, out := run(fakeBin+":"+system, `[{"Name":"DATABASE_URL"},{"Name":"RESEND_API_KEY"}]`, "--app", "symphony-staging")
	if code != 0 || !strings.Contains(out, "reminder: apply the migrations") {
		t.Fatalf("with the secrets: exit %d\n%s", code, out)
	}
	calls, _ := os.ReadFile(log)
	if !regexp.MustCompile(`(?m)^secrets list --app symphony-staging --json$`).Match(calls) ||
		!regexp.MustCompile(`(?m)^deploy --build-arg VERSION=\S+ --app symphony-staging$`).Match(calls) {
		t.Fatalf("fly was called as:\n%s", calls)
	}
}
