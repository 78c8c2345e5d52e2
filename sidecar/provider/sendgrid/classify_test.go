package sendgrid

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
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: header,
		Body: io.NopCloser(strings.NewReader(body))}
}

func TestClassify_JoinsEveryErrorMessage(t *testing.T) {
	t.Parallel()
	body := `{"errors":[{"message":"The from email does not contain a valid address.","field":"from.email","help":"http://x"},` +
		`{"message":"The subject is required.","field":"subject","help":null}]}`
	_, err := classify(response(400, http.Header{}, body), nil, time.Now())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "from.email" ||
		pe.Message != "The from email does not contain a valid address.; The subject is required." {
		t.Fatalf("err = %#v", err)
	}
}

// SendGrid's errors that concern no field say so with the string "null" (its
// Mail Send reference shows {"message": "authorization required", "field":
// "null"}), or with JSON null, or say nothing: none of them is a code.
func TestClassify_NullFieldIsNoCode(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"errors":[{"message":"authorization required","field":"null"}]}`,
		`{"errors":[{"message":"authorization required","field":null,"help":null}]}`,
		`{"errors":[{"message":"authorization required","field":""}]}`,
		`{"errors":[{"message":"authorization required"}]}`,
	} {
		_, err := classify(response(401, http.Header{}, body), nil, time.Now())
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Code != "" || err.Error() != "sendgrid http 401: authorization required" {
			t.Errorf("%s: code %q, error %q", body, pe.Code, err)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(202, "", "abc123", "")
	f.Add(400, `{"errors":[{"message":"m","field":null,"help":null}]}`, "", "")
	f.Add(429, `{"errors":[{"field":null,"message":"too many requests"}]}`, "", "1392815263")
	f.Add(500, `<html>`, "", "x")
	f.Add(413, `{"errors":"nope"}`, "", "")
	f.Fuzz(func(t *testing.T, status int, body, msgID, reset string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		h := http.Header{"X-Message-Id": {msgID}, "X-Ratelimit-Reset": {reset}, "Retry-After": {reset}}
		r, err := classify(response(status, h, body), nil, time.Now())
		if status > 200 && status < 300 {
			if err != nil || r.Provider != Name {
				t.Fatalf("2xx gave %v, %+v", err, r)
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Provider != Name || pe.StatusCode != status || pe.RetryAfter < 0 || pe.Message == "" {
			t.Fatalf("status %d gave %#v", status, err)
		}
		if wantPermanent := status < 500 && status != 429; wantPermanent != pe.Permanent {
			t.Fatalf("status %d permanent=%v", status, pe.Permanent)
		}
		if pe.MaybeSent && status < 500 {
			t.Fatalf("status %d MaybeSent", status)
		}
	})
}
