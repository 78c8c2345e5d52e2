package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildDir is where Build puts the binary; the package's TestMain creates and
// removes it, so every test of a run shares one build.
var BuildDir string

var build struct {
	once sync.Once
	bin  string
	err  error
}

// Build compiles the sidecar (./sidecar/cmd/symphony) once per test process,
// so kill -9 hits the real binary, not a goroutine.
func Build(tb testing.TB, root string) string {
	tb.Helper()
	build.once.Do(func() {
		build.bin = filepath.Join(BuildDir, "symphony")
		cmd := exec.Command("go", "build", "-o", build.bin, "./sidecar/cmd/symphony")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("chaos: go build: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.bin
}

// Sidecar is one sidecar slot: a process that can be killed and started again
// under the same worker id, as a Fly machine restarts under its machine id.
// Its log (JSON, every incarnation) goes to LogPath.
type Sidecar struct {
	Name    string
	LogPath string

	bin string
	env []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
}

// NewSidecar prepares a slot running bin with env (and nothing else of the
// test's environment, so no stray variable changes what is tested).
func NewSidecar(tb testing.TB, bin, name, logDir string, env []string) *Sidecar {
	s := &Sidecar{Name: name, LogPath: filepath.Join(logDir, name+".log"), bin: bin, env: env}
	tb.Cleanup(func() { s.Kill() })
	return s
}

// Start runs a new incarnation. It fails if one is running.
func (s *Sidecar) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("chaos: sidecar %s is already running", s.Name)
	}
	log, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "worker")
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = log, log
	// If the test process dies, its sidecars must not live on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("chaos: starting sidecar %s: %w", s.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); log.Close() }()
	s.cmd, s.done = cmd, done
	return nil
}

// Running reports whether an incarnation is running.
func (s *Sidecar) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Kill sends SIGKILL, the crash nothing can clean up after, and waits for
// the process to be gone. It reports whether one was running.
func (s *Sidecar) Kill() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd, s.done = nil, nil
	return true
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, which must be
// exit status 0 (in-flight work drained, outcomes written).
func (s *Sidecar) Stop(timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(timeout):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
		err = fmt.Errorf("did not stop within %s of SIGTERM", timeout)
	}
	s.cmd, s.done = nil, nil
	if err != nil {
		return fmt.Errorf("chaos: sidecar %s: %w", s.Name, err)
	}
	return nil
}

// LogLine is one line of a sidecar's JSON log, decoded; Raw is the line.
type LogLine struct {
	Raw    string
	Level  string
	Msg    string
	Fields map[string]any
}

// Logs reads every line the slot's incarnations wrote so far. Lines that are
// not JSON (a Go panic, say) come back with Level "RAW".
func (s *Sidecar) Logs() ([]LogLine, error) {
	f, err := os.Open(s.LogPath)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []LogLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := LogLine{Raw: sc.Text()}
		if err := json.Unmarshal(sc.Bytes(), &line.Fields); err != nil {
			line.Level = "RAW"
		} else {
			line.Level, _ = line.Fields["level"].(string)
			line.Msg, _ = line.Fields["msg"].(string)
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// Crashes returns log lines that show the process itself failing: a Go panic
// or fatal error, or anything else that is not a structured log line.
func (s *Sidecar) Crashes() ([]string, error) {
	lines, err := s.Logs()
	var bad []string
	for _, l := range lines {
		if l.Level == "RAW" && strings.TrimSpace(l.Raw) != "" {
			bad = append(bad, l.Raw)
		}
	}
	return bad, err
}
