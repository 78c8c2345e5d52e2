package httpserver_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/httpserver"
)

// serve runs h under lim on a local port until the test ends.
func serve(t *testing.T, h http.Handler, lim httpserver.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httpserver.New("test", h, lim, slog.New(slog.DiscardHandler), nil)
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closed says whether the server has closed c (a read ends, and not by the
// deadline).
func closed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func get(t *testing.T, c net.Conn, path string) int {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func limits(conns, active int) httpserver.Limits {
	return httpserver.Limits{MaxConns: conns, MaxActive: active, ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute}
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// At the cap, a new connection takes the place of the one that has waited
// longest without a request in a handler.
func TestServer_NewConnectionReplacesTheLongestWaiting(t *testing.T) {
	t.Parallel()
	addr := serve(t, ok, limits(2, 1))
	first, second := dial(t, addr), dial(t, addr)
	// Accepted in the order dialled.
	third := dial(t, addr)
	if code := get(t, third, "/"); code != 200 {
		t.Fatalf("the new connection got %d", code)
	}
	if !closed(first) {
		t.Fatal("the longest-waiting connection is still open")
	}
	if code := get(t, second, "/"); code != 200 {
		t.Fatalf("the other held connection got %d", code)
	}
}

// When every held connection is in a handler, a new one is closed at once,
// and the held ones finish.
func TestServer_FullOfRequestsClosesNewConnections(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var in atomic.Int32
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.Add(1)
		<-release
	}), limits(2, 2))
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	for deadline := time.Now().Add(5 * time.Second); in.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two requests never reached the handler")
		}
	}
	if !closed(dial(t, addr)) {
		t.Fatal("a connection beyond the cap was kept while every held one is in a handler")
	}
	close(release)
	for _, c := range held {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a held request: %v", err)
		}
	}
}

// Requests beyond MaxActive are answered 503 at once, without reaching the
// handler.
func TestServer_TooManyRequestsAreAnswered503(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var in atomic.Int32
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.Add(1)
		<-release
	}), limits(8, 1))
	io.WriteString(dial(t, addr), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for in.Load() < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	if code := get(t, dial(t, addr), "/"); code != http.StatusServiceUnavailable || in.Load() != 1 {
		t.Fatalf("a second request at once: %d, %d in the handler", code, in.Load())
	}
}

// Where no body is accepted, a request with one is answered 413 on its
// headers, and the connection closed rather than the body read.
func TestServer_BodiesRefusedBeforeReading(t *testing.T) {
	t.Parallel()
	var called atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called.Store(true)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, string(b))
	})
	for _, c := range []struct {
		name     string
		maxBody  int64
		readers  int
		length   string
		send     string
		want     int
		reaches  bool
		wantBody string
	}{
		{"NoBodyAccepted", 0, 0, "100", "x", 413, false, ""},
		{"Chunked", 0, 0, "", "", 413, false, ""},
		{"DeclaredOverTheCap", 10, 0, "100", "x", 413, false, ""},
		{"ReadFirst", 10, 1, "5", "hello", 200, true, "hello"},
		{"HandlerReads", 10, 0, "5", "hello", 200, true, "hello"},
	} {
		t.Run(c.name, func(t *testing.T) {
			called.Store(false)
			lim := limits(4, 4)
			lim.MaxBody, lim.BodyReaders = c.maxBody, c.readers
			conn := dial(t, serve(t, h, lim))
			head := "POST / HTTP/1.1\r\nHost: x\r\n"
			if c.length == "" {
				head += "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n" // and never the end
			} else {
				head += "Content-Length: " + c.length + "\r\n\r\n" + c.send
			}
			io.WriteString(conn, head)
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer (the server waits for the body?): %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want || called.Load() != c.reaches || (c.wantBody != "" && string(b) != c.wantBody) {
				t.Fatalf("%d %q, handler called %v; want %d, called %v", resp.StatusCode, b, called.Load(), c.want, c.reaches)
			}
			if c.want == 413 && !resp.Close {
				t.Fatal("a refused body left the connection open")
			}
		})
	}
}

// Every listener's limits set every timeout and leave room for new
// connections.
func TestLimits_EveryListenerIsBounded(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]httpserver.Limits{"api": httpserver.APILimits(), "dashboard": httpserver.DashboardLimits(),
		"webhooks": httpserver.WebhookLimits()} {
		if l.ReadHeaderTimeout <= 0 || l.ReadTimeout <= 0 || l.WriteTimeout <= 0 || l.IdleTimeout <= 0 || l.MaxHeaderBytes <= 0 ||
			l.MaxConns <= 0 || l.MaxActive <= 0 || l.MaxActive >= l.MaxConns {
			t.Errorf("%s: %+v", name, l)
		}
	}
}
