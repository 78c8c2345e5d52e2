package resendfake

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Other is another client of the same Resend account: an application still
// sending on its own through the same API key, as during a migration, so
// spending the same rate limit.
type Other struct {
	accepted, refused, failed atomic.Int64
	done                      chan struct{}
	wg                        sync.WaitGroup
	once                      sync.Once
}

// AnotherClient starts sending one email to s every 1/perSecond seconds,
// with s's API key, until Stop. perSecond must be positive.
func (s *Server) AnotherClient(perSecond int) *Other {
	if perSecond <= 0 {
		panic(fmt.Sprintf("resendfake: AnotherClient needs a positive rate, not %d requests/s", perSecond))
	}
	o := &Other{done: make(chan struct{})}
	key := s.apiKey
	body := []byte(`{"from":"` + otherFrom + `","to":["someone@example.com"],"subject":"Hi","text":"Hello"}`)
	send := func() {
		defer o.wg.Done()
		req, err := http.NewRequest("POST", s.URL()+"/emails", bytes.NewReader(body))
		if err != nil {
			o.failed.Add(1)
			return
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			o.failed.Add(1)
			return
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			o.refused.Add(1)
		case resp.StatusCode < 300:
			o.accepted.Add(1)
		default:
			o.failed.Add(1)
		}
	}
	// Each request on the tick, whether or not the one before has been
	// answered: the rate is the client's, whatever the fake's latency.
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for {
			select {
			case <-o.done:
				return
			case <-tick.C:
				o.wg.Add(1)
				go send()
			}
		}
	}()
	return o
}

// Stop stops sending and waits for the requests under way.
func (o *Other) Stop() { o.once.Do(func() { close(o.done); o.wg.Wait() }) }

// Counts returns how many of the client's requests the fake accepted,
// refused with 429, and answered otherwise (or not at all).
func (o *Other) Counts() (accepted, refused, failed int) {
	return int(o.accepted.Load()), int(o.refused.Load()), int(o.failed.Load())
}

// otherFrom is the sender of another client's emails.
const otherFrom = "app@acme.test"

// FromOther reports whether e came from another client (AnotherClient).
func (e Email) FromOther() bool { return e.From == otherFrom }
