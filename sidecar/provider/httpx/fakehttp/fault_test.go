package fakehttp_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
)

func TestFaults_ConsumedInOrderOnePerRequest(t *testing.T) {
	t.Parallel()
	var f fakehttp.Faults
	f.Inject(fakehttp.Times(2, fakehttp.Status(500))...)
	f.Inject(fakehttp.RateLimitedFor(3 * time.Second))
	if f.PendingFaults() != 3 {
		t.Fatalf("pending = %d", f.PendingFaults())
	}
	for i, want := range []int{500, 500, 429} {
		if got := f.NextFault(); got.Kind != fakehttp.KindStatus || got.Status != want {
			t.Errorf("fault %d = %+v, want status %d", i, got, want)
		}
	}
	if got := f.NextFault(); got.Kind != fakehttp.KindNone || got.Status != 0 || got.Delay != 0 {
		t.Errorf("after the queue: %+v, want the zero fault", got)
	}
}

func TestFault_SetHeadersReplaces(t *testing.T) {
	t.Parallel()
	h := http.Header{"Ratelimit-Reset": {"1"}}
	fakehttp.Fault{RetryAfter: "9", Header: http.Header{"ratelimit-reset": {"4"}}}.SetHeaders(h)
	if h.Get("Ratelimit-Reset") != "4" || len(h.Values("Ratelimit-Reset")) != 1 || h.Get("Retry-After") != "9" {
		t.Errorf("headers = %v", h)
	}
}
