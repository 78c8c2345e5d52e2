package app_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/providerevents"
	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

// webhookSidecar runs a sidecar with every provider's webhook on; it returns
// the Resend secret.
func webhookSidecar(t *testing.T) (*sidecar, string) {
	t.Helper()
	db := testDB(t)
	secret := eventsfake.NewResendSecret()
	_, sendgridKey := eventsfake.NewSendGridKey()
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
	paths := []string{providerevents.ResendPath, providerevents.SendGridPath, providerevents.PostmarkPath, providerevents.TwilioStatusPath, providerevents.TwilioInboundPath}
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
// providerevents.MaxReading of the reading slots; the rest are answered 503 at
// once (providers retry), and /healthz and the other listeners answer.
func TestDelivery_BodiesAreReadAFewAtATime(t *testing.T) {
	t.Parallel()
	s, _ := webhookSidecar(t)
	forged := eventsfake.Resend(eventsfake.NewResendSecret(), "msg_forged", time.Now(), []byte("{}"))
	const n = 40
	codes := make(chan int, n)
	for range n {
		go func() {
			code, c := post(s.WebhookAddr(), providerevents.ResendPath, forged, 200_000, []byte(`{"type":"email.delivered",`), 5*time.Second)
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
	if waiting != providerevents.MaxReading || busy != n-providerevents.MaxReading {
		t.Fatalf("%d stalled requests being read and %d answered 503; want %d read at once and the rest refused",
			waiting, busy, providerevents.MaxReading)
	}
	if r, _ := s.get(t, "/healthz"); r.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", r.StatusCode)
	}
}
