package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sidecar is the real symphony binary running as a subprocess, so that its
// memory is its own and /proc can tell its peak.
type sidecar struct {
	cmd  *exec.Cmd
	addr string
	logs *os.File
	done chan error
	// keep keeps the log after a clean stop too: the run it served missed
	// a target, and the log says why.
	keep bool
}

// startSidecar runs bin worker against db with env added to the sidecar's
// defaults here (log level warn, a free loopback port), and waits until /readyz
// answers 200.
func startSidecar(ctx context.Context, bin, db string, env map[string]string) (*sidecar, error) {
	return startSidecarIn(ctx, bin, db, env, "")
}

// startSidecarIn is startSidecar with the sidecar put in the cgroup whose
// cgroup.procs file is procs (none when empty) before it runs, so that it
// reads that cgroup's memory limit at start as it would in a container.
func startSidecarIn(ctx context.Context, bin, db string, env map[string]string, procs string) (*sidecar, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logs, err := os.CreateTemp("", "symphony-bench-sidecar-*.log")
	if err != nil {
		return nil, err
	}
	base := map[string]string{
		"DATABASE_URL":         db,
		"SYMPHONY_HTTP_ADDR":   "127.0.0.1:" + strconv.Itoa(port),
		"SYMPHONY_LOG_LEVEL":   "warn",
		"SYMPHONY_LOG_FORMAT":  "text",
		"SYMPHONY_WORKER_ID":   "bench",
		"SYMPHONY_OUTBOX_SIZE": "100",
	}
	for k, v := range env {
		base[k] = v
	}
	cmd := exec.Command(bin, "worker")
	if procs != "" {
		cmd = exec.Command("/bin/sh", "-c", `echo $$ > "$0" && exec "$1" worker`, procs, bin)
	}
	cmd.Env = os.Environ()
	for k, v := range base {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, fmt.Errorf("error starting %s: %w", bin, err)
	}
	s := &sidecar{cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), logs: logs, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("the sidecar exited before it was ready (%v); its log:\n%s", err, s.tail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the sidecar was not ready after 30s; its log:\n%s", s.tail())
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *sidecar) processed() (float64, error) { return processedAt(s.addr) }

// processedAt sums symphony_messages_processed_total over its labels, from the
// sidecar's /metrics at addr.
func processedAt(addr string) (float64, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	// Uncompressed: gzipping the registry on every poll was a tenth of the
	// sidecar's CPU in the profile, and the poll must not weigh on the run.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "symphony_messages_processed_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total += v
		}
	}
	return total, sc.Err()
}

// peakRSS is the sidecar's VmHWM in bytes: the most resident memory it has had.
func (s *sidecar) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// stop sends SIGTERM and waits for the drain; a sidecar that does not stop in
// 40s is killed.
func (s *sidecar) stop() error {
	err := s.halt()
	s.logs.Close()
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "  the sidecar's stop: %v; its log is kept in %s\n", err, s.logs.Name())
	case s.keep:
		fmt.Fprintf(os.Stderr, "  the sidecar's log is kept in %s\n", s.logs.Name())
	default:
		// A clean stop: nothing in its log to keep (each run starts a few
		// sidecars, and their logs piled up in the temporary directory).
		_ = os.Remove(s.logs.Name())
	}
	return err
}

func (s *sidecar) halt() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("the sidecar did not stop within 40s and was killed")
	}
}

// tail is the end of the sidecar's log, for error messages.
func (s *sidecar) tail() string {
	f, err := os.Open(s.logs.Name())
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 4000 {
		_, _ = f.Seek(st.Size()-4000, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
