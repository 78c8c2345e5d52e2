package httpx

import (
	"net/http"
	"time"
)

// observingTransport reports each attempt to an Observer. It sits below the
// retry loop, so a 503 retried in-process into a 200 is seen as both.
type observingTransport struct {
	next    http.RoundTripper
	observe Observer    // may be nil
	signals RateSignals // may be nil
}

func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if t.signals != nil {
			if sig, ok := ReadRateSignal(resp, time.Now()); ok {
				t.signals(req.Context(), sig)
			}
		}
	}
	if t.observe != nil {
		t.observe(req.URL.Host, status, err, time.Since(start))
	}
	return resp, err
}
