package httpx

import (
	"net/http"
	"time"
)

// observingTransport reports each attempt to an Observer. It sits below the
// retry loop, so a 503 retried in-process into a 200 is seen as both.
type observingTransport struct {
	next    http.RoundTripper
	observe Observer
}

func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.observe(req.URL.Host, status, err, time.Since(start))
	return resp, err
}
