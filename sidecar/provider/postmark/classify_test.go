package postmark

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

func TestClassify_SuccessStatusWithErrorCodeIsAnError(t *testing.T) {
	t.Parallel()
	_, err := classify(response(200, `{"ErrorCode":406,"Message":"Inactive recipient"}`), nil, time.Now())
	if !provider.IsPermanent(err) || provider.ErrorCode(err) != "406" {
		t.Fatalf("err = %v, want permanent 406", err)
	}
}

func TestClassify_TransportErrorIsMaybeSent(t *testing.T) {
	t.Parallel()
	_, err := classify(nil, io.ErrUnexpectedEOF, time.Now())
	if provider.IsPermanent(err) || !provider.MaybeSent(err) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(200, `{"To":"a@b.test","SubmittedAt":"2014-02-17T07:25:01.4178645-05:00","MessageID":"0a129aee-e1cd-480d-b08d-4f48548ff48d","ErrorCode":0,"Message":"OK"}`)
	f.Add(422, `{"ErrorCode":300,"Message":"Invalid email request"}`)
	f.Add(422, `{"ErrorCode":"300"}`)
	f.Add(401, `{"ErrorCode":10,"Message":"Bad or missing API token"}`)
	f.Add(500, `oops`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		r, err := classify(response(status, body), nil, time.Now())
		if err == nil {
			if status < 200 || status > 299 || r.Provider != Name {
				t.Fatalf("status %d accepted: %+v", status, r)
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Provider != Name || pe.StatusCode != status || pe.Message == "" || pe.RetryAfter < 0 {
			t.Fatalf("status %d gave %#v", status, err)
		}
		if status >= 500 && pe.Permanent {
			t.Fatalf("5xx permanent: %#v", pe)
		}
	})
}
