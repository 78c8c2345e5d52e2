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
	const concurrent = 150 // above cleanhttp's 100 idle connections in all, too
	// Every request of a wave is held until the whole wave is in flight, so
	// that each wave needs all its connections at once. (Held for a fixed
	// 20 ms, a busy machine let part of the first wave finish before the rest
	// started: it opened 98 connections, and the next waves 52 more.)
	var mu sync.Mutex
	var arrived int
	var all chan struct{}
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == concurrent {
			close(all)
		}
		gate := all
		mu.Unlock()
		select {
		case <-gate:
		case <-time.After(5 * time.Second): // a wave that cannot fill fails below
		}
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
	wave := func() {
		mu.Lock()
		arrived, all = 0, make(chan struct{})
		mu.Unlock()
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
