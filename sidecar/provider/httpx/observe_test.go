package httpx_test

import (
	"context"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

type observed struct {
	host   string
	status int
	err    bool
}

// Every attempt is observed, in-process retries included, so a 503 that a
// retry turns into a 200 shows up in the metrics as both (replay-safe sends
// are retried on 5xx and transport errors).
func TestClient_ObserveSeesEveryAttempt(t *testing.T) {
	var mu sync.Mutex
	var got []observed
	calls := 0
	rt := &roundTripFunc{fn: func(r *http.Request) (*http.Response, error) {
		calls++
		switch calls {
		case 1:
			return answer(503, nil, "busy")(r)
		case 2:
			return nil, syscall.ECONNREFUSED
		default:
			return answer(200, nil, `{"id":"x"}`)(r)
		}
	}}
	c := httpx.New(httpx.Config{Transport: rt, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond,
		Observe: func(host string, status int, err error, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if took < 0 {
				t.Errorf("negative duration %s", took)
			}
			got = append(got, observed{host, status, err != nil})
		}})
	resp, err := post(t, c, httpx.WithReplaySafe(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []observed{{"api.example.test", 503, false}, {"api.example.test", 0, true}, {"api.example.test", 200, false}}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("observed %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("attempt %d observed %+v, want %+v", i+1, got[i], want[i])
		}
	}
}
