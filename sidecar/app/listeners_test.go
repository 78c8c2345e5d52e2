package app_test

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/httpserver"
	"github.com/symphonymessenger/symphony/sidecar/providerevents"
	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

// heldConns counts the connections to addr's port that this process holds
// open as the server: sockets among its file descriptors whose local port is
// addr's (the clients' ends have it as their remote port), listener excluded.
func heldConns(t *testing.T, addr net.Addr) int {
	t.Helper()
	port := addr.(*net.TCPAddr).Port
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			t.Fatalf("counting connections needs %s: %v", table, err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] == "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	fds, err := filepath.Glob("/proc/self/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(inode, "]")] {
			n++
		}
	}
	return n
}

// slowClients opens n connections to addr that never finish a request: half
// send a POST's headers and a little of its body, half only part of a
// request's headers. It returns once every one is connected and has written.
func slowClients(t *testing.T, addr net.Addr, path string, n int) {
	t.Helper()
	for i := range n {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		req := "GET " + path + " HTTP/1.1\r\nHost: sidecar\r\nX-Slow: "
		if i%2 == 0 {
			req = "POST " + path + " HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"type\":"
		}
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
}

// Every listener keeps answering while slow clients hold connections, and
// holds at most its cap of them: 300 slow, unauthenticated POSTs and
// half-sent headers against each one, then a real request on a fresh
// connection must be answered, and the connections the server holds counted.
func TestListeners_SlowClientsCannotHoldEveryConnection(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	secret := eventsfake.NewResendSecret()
	cfg := testConfig(db)
	cfg.DashboardToken, cfg.DashboardAddr = dashboardToken, "127.0.0.1:0"
	cfg.WebhookAddr, cfg.Providers.ResendWebhookSecret = "127.0.0.1:0", secret
	s := start(t, cfg, newFake(nil), newFake(nil))

	event := resendEvent("email.delivered", "re_nobody", "a@example.com", "")
	for _, l := range []struct {
		name, path string
		addr       net.Addr
		cap        int
		probe      func() (*http.Request, error)
	}{
		{"api", "/healthz", s.Addr(), httpserver.APILimits().MaxConns, func() (*http.Request, error) {
			return http.NewRequest(http.MethodGet, s.url("/healthz"), nil)
		}},
		{"dashboard", "/dashboard/login", s.DashboardAddr(), httpserver.DashboardLimits().MaxConns, func() (*http.Request, error) {
			return http.NewRequest(http.MethodGet, "http://"+s.DashboardAddr().String()+"/dashboard/login", nil)
		}},
		{"webhooks", providerevents.ResendPath, s.WebhookAddr(), httpserver.WebhookLimits().MaxConns, func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, "http://"+s.WebhookAddr().String()+providerevents.ResendPath, strings.NewReader(string(event)))
			if err == nil {
				r.Header = eventsfake.Resend(secret, "msg_probe", time.Now(), event)
			}
			return r, err
		}},
	} {
		t.Run(l.name, func(t *testing.T) {
			slowClients(t, l.addr, l.path, 300)
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			req, err := l.probe()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("with 300 slow clients connected, %s %s got no answer: %v", req.Method, l.path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s answered %d", req.Method, l.path, resp.StatusCode)
			}
			if n := heldConns(t, l.addr); n > l.cap {
				t.Fatalf("the %s listener holds %d connections open; its cap is %d", l.name, n, l.cap)
			} else {
				t.Logf("the %s listener holds %d connections (cap %d)", l.name, n, l.cap)
			}
		})
	}
}
