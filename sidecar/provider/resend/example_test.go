package resend_test

import (
	"context"
	"fmt"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

// A sidecar builds one httpx client and hands it to every provider. Here the
// provider talks to the fake, whose next answer is lost after it accepted the
// email: the retry carries the same Idempotency-Key, so one email is sent.
func Example() {
	fake := resendfake.New(resendfake.Options{APIKey: "re_test"})
	defer fake.Close()
	fake.Inject(fakehttp.ResetAfterAccept())

	shared := httpx.New(httpx.Config{Version: "1.0.0"})
	c, err := resend.New(resend.Config{APIKey: "re_test", BaseURL: fake.URL(), HTTPClient: shared})
	if err != nil {
		panic(err)
	}
	r, err := c.SendEmail(context.Background(), provider.Send{MessageID: 1, Attempt: 1}, &provider.Email{
		From: provider.Address{Name: "Acme", Email: "hello@acme.test"}, To: []provider.Address{{Email: "ada@example.test"}}, Subject: "Hi", Text: "Hello",
	})
	fmt.Println(r.Provider, r.Status, err, len(fake.Emails()), fake.RequestCount())
	// Output: resend accepted <nil> 1 2
}
