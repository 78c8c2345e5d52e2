package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

// /status leaves recipients out, and that includes the ones providers quote in
// their failure reasons: Postmark's 406 names the inactive address, Twilio's
// 21211 the number. The rest of the reason stays, for monitoring; the row keeps
// it whole for the dashboard, which is behind its token.
func TestStatus_RedactsRecipientsInFailureReasons(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	postmark := postmarkfake.New(postmarkfake.Options{InactiveRecipients: []string{"gone.away@example.com"}})
	t.Cleanup(postmark.Close)
	twilio := twiliofake.New(twiliofake.Options{})
	t.Cleanup(twilio.Close)
	twilio.Inject(fakehttp.Fault{Kind: fakehttp.KindStatus, Status: 400,
		Body: `{"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`})
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, postmark.URL()
	cfg.SMSProvider, cfg.Providers.TwilioURL, cfg.Providers.TwilioFrom = "twilio", twilio.URL(), "+14155550000"
	cfg.Providers.TwilioAccountSID, cfg.Providers.TwilioAuthToken = twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken
	sc := start(t, cfg, nil, nil)

	exec(t, db.Pool, `select symphony.send_email('Gone Away <gone.away@example.com>', 'me@example.com', 'hi', 'x')`)
	exec(t, db.Pool, `select symphony.send_sms('+15005550001', 'hi')`)
	waitFor(t, 10*time.Second, "both messages to die", func() bool { return countState(t, db.Pool, "dead") == 2 })
	var reasons string
	if err := db.Pool.QueryRow(context.Background(), `select string_agg(last_error, ' | ') from symphony.messages`).Scan(&reasons); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reasons, "gone.away@example.com") || !strings.Contains(reasons, "+15005550001") {
		t.Fatalf("the providers' reasons do not quote the recipients, so this test proves nothing: %s", reasons)
	}

	_, body := sc.get(t, "/status")
	for _, leak := range []string{"gone.away@example.com", "gone.away", "Gone Away", "15005550001", "5005550001"} {
		if strings.Contains(body, leak) {
			t.Errorf("/status shows the recipient (%q) in a failure reason:\n%s", leak, body)
		}
	}
	for _, kept := range []string{"406", "marked as inactive", "21211", "is not a valid phone number"} {
		if !strings.Contains(body, kept) {
			t.Errorf("/status lost %q from the failure reasons:\n%s", kept, body)
		}
	}
}
