package resend

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

func response(status int, header http.Header, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

func TestClassify_TransportErrorIsTransientAndNotMaybeSent(t *testing.T) {
	t.Parallel()
	_, err := classify(nil, io.ErrUnexpectedEOF, time.Now())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Permanent || pe.MaybeSent || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %#v", err)
	}
}

func TestClassify_DailyQuotaHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	_, err := classify(response(429, http.Header{"Retry-After": {"600"}},
		`{"statusCode":429,"name":"daily_quota_exceeded","message":"You have reached your daily email sending quota."}`), nil, time.Now())
	if provider.RetryAfter(err) != 10*time.Minute || provider.IsPermanent(err) {
		t.Fatalf("err = %v, retry after %v", err, provider.RetryAfter(err))
	}
}

func TestClassify_RedirectIsPermanent(t *testing.T) {
	t.Parallel()
	_, err := classify(response(301, http.Header{"Location": {"https://x"}}, ""), nil, time.Now())
	if !provider.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(200, `{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}`, "")
	f.Add(429, `{"statusCode":429,"name":"rate_limit_exceeded","message":"Too many requests"}`, "2")
	f.Add(409, `{"statusCode":409,"name":"concurrent_idempotent_requests","message":"x"}`, "")
	f.Add(500, `not json`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(422, `{"name":null}`, "-1")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		h := http.Header{"Retry-After": {retryAfter}, "Ratelimit-Reset": {retryAfter}}
		r, err := classify(response(status, h, body), nil, time.Now())
		if status >= 200 && status < 300 {
			if err != nil || r.Provider != Name {
				t.Fatalf("2xx gave %v, %+v", err, r)
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("status %d gave %v, want *provider.Error", status, err)
		}
		if pe.Provider != Name || pe.StatusCode != status || pe.RetryAfter < 0 || pe.MaybeSent || pe.Message == "" {
			t.Fatalf("bad error %#v", pe)
		}
		if status >= 500 && pe.Permanent {
			t.Fatalf("5xx classified permanent: %#v", pe)
		}
	})
}
