package httpx_test

import (
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

func TestRedactURLs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`Post "https://hooks.example.com/services/T00/B00/XyZ?token=abc": EOF`: `Post "https://hooks.example.com/…": EOF`,
		`GET https://user:pass@api.example.com:8443/v1 failed`:                 `GET https://api.example.com:8443/… failed`,
		`to http://127.0.0.1:1/ and HTTPS://x.test#frag`:                       `to http://127.0.0.1:1 and https://x.test/…`,
		`no URL here: api_key=abc`:                                             `no URL here: api_key=abc`,
	} {
		if got := httpx.RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
