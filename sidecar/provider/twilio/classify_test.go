package twilio

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

func response(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
}

func TestClassify_DocumentedErrorBody(t *testing.T) {
	t.Parallel()
	_, err := classify(response(400, `{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.",`+
		`"more_info":"https://www.twilio.com/docs/errors/21211","status":400}`), nil, time.Now())
	var pe *provider.Error
	if !errors.As(err, &pe) || !pe.Permanent || pe.Code != "21211" || !strings.Contains(pe.Message, "not a valid phone number") {
		t.Fatalf("err = %#v", err)
	}
}

// A 20429 says how many of the account's requests were in flight
// (Twilio-Concurrent-Requests), which the worker learns the limit from.
func TestClassify_TooManyRequestsCountsTheRequestsInFlight(t *testing.T) {
	t.Parallel()
	resp := response(429, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`)
	resp.Header.Set("Twilio-Concurrent-Requests", "101")
	_, err := classify(resp, nil, time.Now())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Permanent || pe.StatusCode != 429 || pe.InFlight != 101 {
		t.Fatalf("err = %#v, want a 429 that is not permanent, with 101 in flight", err)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(201, `{"sid":"SM00000000000000000000000000000001","status":"queued"}`)
	f.Add(400, `{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"x","status":400}`)
	f.Add(429, `{"code":20429,"message":"Too Many Requests","status":429}`)
	f.Add(400, `{"code":"21211"}`)
	f.Add(502, `<html>`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		r, err := classify(response(status, body), nil, time.Now())
		if status >= 200 && status < 300 {
			if err != nil || r.Provider != Name {
				t.Fatalf("2xx gave %v, %+v", err, r)
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Provider != Name || pe.StatusCode != status || pe.Message == "" || pe.RetryAfter < 0 {
			t.Fatalf("status %d gave %#v", status, err)
		}
		if (status >= 500 || status == 429) && pe.Permanent {
			t.Fatalf("status %d permanent", status)
		}
	})
}
