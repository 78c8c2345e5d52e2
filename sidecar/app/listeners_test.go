package app_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/delivery"
	"github.com/symphonymessenger/symphony/sidecar/delivery/deliveryfake"
	"github.com/symphonymessenger/symphony/sidecar/httpserver"
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
	secret := deliveryfake.NewResendSecret()
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
		{"webhooks", delivery.ResendPath, s.WebhookAddr(), httpserver.WebhookLimits().MaxConns, func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, "http://"+s.WebhookAddr().String()+delivery.ResendPath, strings.NewReader(string(event)))
			if err == nil {
				r.Header = deliveryfake.Resend(secret, "msg_probe", time.Now(), event)
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

// webhookSidecar runs a sidecar with every provider's webhook on; it returns
// the Resend secret.
func webhookSidecar(t *testing.T) (*sidecar, string) {
	t.Helper()
	db := testDB(t)
	secret := deliveryfake.NewResendSecret()
	_, sendgridKey := deliveryfake.NewSendGridKey()
	cfg := testConfig(db)
	cfg.WebhookAddr, cfg.PublicURL = "127.0.0.1:0", "https://sidecar.example.com"
	cfg.Providers.ResendWebhookSecret, cfg.Providers.SendGridWebhookPublicKey = secret, sendgridKey
	cfg.Providers.PostmarkWebhookUser, cfg.Providers.PostmarkWebhookPassword = "postmark", strings.Repeat("p", 24)
	cfg.Providers.TwilioAuthToken = "0123456789abcdef0123456789abcdef"
	return start(t, cfg, newFake(nil), newFake(nil)), secret
}

// post sends a request on a connection of its own: the headers, then body
// (from another goroutine, as a client that does not wait for an answer
// would), and returns the answer's status, or 0 when none came within wait.
func post(addr net.Addr, path string, h http.Header, contentLength int, body []byte, wait time.Duration) (int, net.Conn) {
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		return -1, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: sidecar\r\nContent-Length: %d\r\n", path, contentLength)
	_ = h.Write(&b)
	b.WriteString("\r\n")
	if _, err := c.Write([]byte(b.String())); err != nil {
		return -1, c
	}
	go c.Write(body) // fails once the server has answered and closed: that is fine
	_ = c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, c
	}
	resp.Body.Close()
	return resp.StatusCode, c
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// 150 unsigned 1 MiB bodies, across every provider's route, are refused on
// their headers (no signature, or a length over the provider's cap): the
// bodies are never read, so the process allocates next to
// nothing for them (reading each whole, as before, allocated over 150 MiB).
// Not parallel: allocation is measured for the whole test process.
func TestDelivery_UnsignedBodiesAreNotRead(t *testing.T) {
	s, _ := webhookSidecar(t)
	body := make([]byte, 1<<20)
	paths := []string{delivery.ResendPath, delivery.SendGridPath, delivery.PostmarkPath, delivery.TwilioStatusPath, delivery.TwilioInboundPath}
	before := totalAlloc()
	codes := make(chan int, 150)
	for i := range 150 {
		go func() {
			code, c := post(s.WebhookAddr(), paths[i%len(paths)], http.Header{"Content-Type": {"application/json"}}, len(body), body, 10*time.Second)
			if c != nil {
				c.Close()
			}
			codes <- code
		}()
	}
	for range 150 {
		// 401 for want of a signature; 413 where the declared length is over
		// the provider's cap (Resend's and Twilio's are smaller than 1 MiB).
		if code := <-codes; code != http.StatusUnauthorized && code != http.StatusRequestEntityTooLarge {
			t.Errorf("an unsigned request answered %d, want 401 or 413", code)
		}
	}
	allocated := totalAlloc() - before
	t.Logf("150 unsigned 1 MiB bodies: %d KiB allocated", allocated>>10)
	if allocated > 16<<20 {
		t.Fatalf("150 unsigned 1 MiB bodies allocated %d MiB: their bodies were read", allocated>>20)
	}
}

// Requests whose signature headers look right get their bodies read, a few
// at a time: 40 that send part of a body and stall hold at most
// delivery.MaxReading of the reading slots; the rest are answered 503 at
// once (providers retry), and /healthz and the other listeners answer.
func TestDelivery_BodiesAreReadAFewAtATime(t *testing.T) {
	t.Parallel()
	s, _ := webhookSidecar(t)
	forged := deliveryfake.Resend(deliveryfake.NewResendSecret(), "msg_forged", time.Now(), []byte("{}"))
	const n = 40
	codes := make(chan int, n)
	for range n {
		go func() {
			code, c := post(s.WebhookAddr(), delivery.ResendPath, forged, 200_000, []byte(`{"type":"email.delivered",`), 3*time.Second)
			if c != nil {
				t.Cleanup(func() { c.Close() })
			}
			codes <- code
		}()
	}
	busy, waiting := 0, 0
	for range n {
		switch code := <-codes; code {
		case http.StatusServiceUnavailable:
			busy++
		case 0:
			waiting++ // still being read
		default:
			t.Errorf("a stalled request answered %d", code)
		}
	}
	if waiting != delivery.MaxReading || busy != n-delivery.MaxReading {
		t.Fatalf("%d stalled requests being read and %d answered 503; want %d read at once and the rest refused",
			waiting, busy, delivery.MaxReading)
	}
	if r, _ := s.get(t, "/healthz"); r.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", r.StatusCode)
	}
}
