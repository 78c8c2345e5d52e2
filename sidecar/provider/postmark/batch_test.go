package postmark_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
)

func batchEmails(n int) []*provider.Email {
	out := make([]*provider.Email, n)
	for i := range out {
		out[i] = &provider.Email{
			From:    provider.Address{Email: "news@acme.test"},
			To:      []provider.Address{{Email: fmt.Sprintf("r%d@example.test", i)}},
			Subject: "News",
			Text:    "Hello",
		}
	}
	return out
}

// Postmark answers 200 with a result per message in order; the good ones are
// sent and each bad one fails alone with its ErrorCode.
func TestPostmark_BatchPerMessageResults(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second, postmarkfake.Options{InactiveRecipients: []string{"r2@example.test"}}, "broadcast")
	emails := batchEmails(5)
	emails[4].Text = "" // 300: no body
	res, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 1, Attempt: 1}, emails)
	if err != nil {
		t.Fatalf("SendEmailBatch: %v", err)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/email/batch" {
		t.Fatalf("want one POST /email/batch, got %d", len(reqs))
	}
	sent := s.fake.Messages()
	if len(sent) != 3 {
		t.Fatalf("sent %d, want 3", len(sent))
	}
	j := 0
	for i, r := range res {
		switch i {
		case 2, 4:
			pe, ok := r.Err.(*provider.Error)
			want := map[int]string{2: "406", 4: "300"}[i]
			if !ok || !pe.Permanent || pe.Code != want {
				t.Fatalf("member %d: want permanent ErrorCode %s, got %+v", i, want, r.Err)
			}
		default:
			if r.Err != nil || r.Receipt.MessageID != sent[j].MessageID || sent[j].To != fmt.Sprintf("r%d@example.test", i) {
				t.Fatalf("member %d: %+v", i, r)
			}
			j++
		}
	}
}

// Without an idempotency key, a batch whose answer was lost may have been
// sent: every member is MaybeSent. A refused request is not.
func TestPostmark_BatchWholeRequestErrors(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second, postmarkfake.Options{}, "")
	s.fake.Inject(fakehttp.Fault{Kind: fakehttp.KindResetAfterAccept})
	_, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 2, Attempt: 1}, batchEmails(3))
	if err == nil || !provider.MaybeSent(err) || provider.IsPermanent(err) {
		t.Fatalf("reset after accept: want transient MaybeSent, got %v", err)
	}
	s.fake.Inject(postmarkfake.ErrorFault(429, 429, "Rate Limit Exceeded"))
	_, err = s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 3, Attempt: 1}, batchEmails(3))
	if err == nil || provider.MaybeSent(err) || provider.IsPermanent(err) {
		t.Fatalf("429: want transient, not MaybeSent, got %v", err)
	}
	if _, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 4, Attempt: 1}, batchEmails(501)); err == nil || !provider.IsPermanent(err) {
		t.Fatalf("501 messages: want permanent, got %v", err)
	}
}
