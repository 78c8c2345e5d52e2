package httpx_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// A sidecar sends many messages to one provider at once. Connections must be
// reused between waves of concurrent sends, not opened and closed per request
// (cleanhttp's default keeps only GOMAXPROCS+1 idle per host, 100 in all).
func TestNew_ReusesConnectionsUnderConcurrency(t *testing.T) {
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // every request of a wave is in flight at once
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	c := httpx.New(httpx.Config{})
	const concurrent = 150 // above cleanhttp's 100 idle connections in all, too
	wave := func() {
		var wg sync.WaitGroup
		for range concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Post(srv.URL, "application/json", nil)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	wave()
	first := opened.Load()
	for range 3 {
		wave()
	}
	if again := opened.Load() - first; again > concurrent/4 {
		t.Fatalf("three more waves of %d concurrent requests opened %d new connections (the first opened %d); want them reused", concurrent, again, first)
	}
}
