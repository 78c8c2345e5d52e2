package httpx_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

func TestReadRateSignal_EachProvidersHeaders(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		ok     bool
		want   httpx.RateSignal
	}{
		{"ResendSuccess", 200, http.Header{"Ratelimit-Limit": {"2"}, "Ratelimit-Remaining": {"1"}, "Ratelimit-Reset": {"1"}}, true,
			httpx.RateSignal{Limit: 2, Header: "ratelimit-limit", Remaining: 1, Reset: time.Second}},
		{"ResendRefused", 429, http.Header{"Ratelimit-Limit": {"2"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1"}, "Retry-After": {"1"}}, true,
			httpx.RateSignal{Limit: 2, Header: "ratelimit-limit", Remaining: 0, Reset: time.Second, Refused: true, RetryAfter: time.Second}},
		{"SendGridUnixReset", 202, http.Header{"X-Ratelimit-Limit": {"600"}, "X-Ratelimit-Remaining": {"599"},
			"X-Ratelimit-Reset": {strconv.FormatInt(now.Add(60*time.Second).Unix(), 10)}}, true,
			httpx.RateSignal{Limit: 600, Header: "x-ratelimit-limit", Remaining: 599, Reset: time.Minute}},
		{"PolicyGivesTheWindow", 200, http.Header{"Ratelimit-Limit": {"100"}, "Ratelimit-Remaining": {"7"}, "Ratelimit-Reset": {"3"},
			"Ratelimit-Policy": {"100;w=10"}}, true,
			httpx.RateSignal{Limit: 100, Header: "ratelimit-limit", Window: 10 * time.Second, Remaining: 7, Reset: 3 * time.Second}},
		{"BareRefusal", 429, http.Header{}, true, httpx.RateSignal{Remaining: -1, Reset: -1, Refused: true}},
		{"TwilioAccepted", 201, http.Header{"Twilio-Concurrent-Requests": {"7"}, "Twilio-Request-Duration": {"0.093"}}, true,
			httpx.RateSignal{Remaining: -1, Reset: -1, InFlight: 7}},
		{"TwilioRefused", 429, http.Header{"Twilio-Concurrent-Requests": {"101"}}, true,
			httpx.RateSignal{Remaining: -1, Reset: -1, Refused: true, InFlight: 101}},
		{"TwilioGarbageCount", 201, http.Header{"Twilio-Concurrent-Requests": {"-3"}}, false, httpx.RateSignal{Remaining: -1, Reset: -1}},
		{"NothingSaid", 200, http.Header{"Content-Type": {"application/json"}}, false, httpx.RateSignal{Remaining: -1, Reset: -1}},
		{"GarbageLimit", 200, http.Header{"Ratelimit-Limit": {"lots"}}, false, httpx.RateSignal{Remaining: -1, Reset: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := httpx.ReadRateSignal(&http.Response{StatusCode: tc.status, Header: tc.header}, now)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ReadRateSignal = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
