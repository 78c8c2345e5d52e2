package resend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
)

func batchEmails(n int) []*provider.Email {
	out := make([]*provider.Email, n)
	for i := range out {
		out[i] = &provider.Email{
			From:    provider.Address{Name: "Acme", Email: "news@acme.test"},
			To:      []provider.Address{{Email: fmt.Sprintf("r%d@example.test", i)}},
			Subject: "News",
			Text:    "Hello",
		}
	}
	return out
}

func TestResend_BatchSendsEveryEmailInOneRequest(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	res, err := s.client.SendEmailBatch(context.Background(), provider.Batch{Namespace: "ns", ID: 7, Attempt: 1}, batchEmails(100))
	if err != nil {
		t.Fatalf("SendEmailBatch: %v", err)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/emails/batch" {
		t.Fatalf("want one POST /emails/batch, got %d requests", len(reqs))
	}
	if got := reqs[0].Header.Get("Idempotency-Key"); got != "symphony-ns-batch-7" {
		t.Fatalf("Idempotency-Key = %q", got)
	}
	if got := reqs[0].Header.Get("X-Batch-Validation"); got != "permissive" {
		t.Fatalf("x-batch-validation = %q", got)
	}
	sent := s.fake.Emails()
	if len(res) != 100 || len(sent) != 100 {
		t.Fatalf("results %d, sent %d; want 100 each", len(res), len(sent))
	}
	for i, r := range res {
		if r.Err != nil || r.Receipt.MessageID != sent[i].ID || sent[i].To[0] != fmt.Sprintf("r%d@example.test", i) {
			t.Fatalf("member %d: %+v, sent %+v", i, r, sent[i])
		}
	}
}

func TestResend_BatchPermissiveErrorsFailOnlyTheirEmails(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	emails := batchEmails(5)
	emails[1].Subject = ""                                       // missing_required_field
	emails[3].To = []provider.Address{{Email: "not-an-address"}} // invalid to
	res, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 1, Attempt: 1}, emails)
	if err != nil {
		t.Fatalf("SendEmailBatch: %v", err)
	}
	sent := s.fake.Emails()
	if len(sent) != 3 {
		t.Fatalf("sent %d emails, want the 3 valid ones", len(sent))
	}
	good := 0
	for i, r := range res {
		switch i {
		case 1, 3:
			if r.Err == nil || !provider.IsPermanent(r.Err) {
				t.Fatalf("member %d: want a permanent error, got %+v", i, r)
			}
		default:
			if r.Err != nil || r.Receipt.MessageID != sent[good].ID {
				t.Fatalf("member %d: %+v, want id %s", i, r, sent[good].ID)
			}
			good++
		}
	}
	if !strings.Contains(res[1].Err.Error(), "subject") {
		t.Fatalf("member 1's error does not name the field: %v", res[1].Err)
	}
}

func TestResend_BatchRetriedWithItsKeyDoesNotSendTwice(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	b := provider.Batch{Namespace: "ns", ID: 9, Attempt: 1}
	first, err := s.client.SendEmailBatch(context.Background(), b, batchEmails(10))
	if err != nil {
		t.Fatalf("first: %v", err)
	}
	b.Attempt = 2 // a retry after a crash: same batch row, same members
	again, err := s.client.SendEmailBatch(context.Background(), b, batchEmails(10))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(s.fake.Emails()); n != 10 {
		t.Fatalf("the fake sent %d emails over two calls; want 10", n)
	}
	for i := range first {
		if first[i].Receipt.MessageID != again[i].Receipt.MessageID {
			t.Fatalf("member %d: retry answered id %s, first %s", i, again[i].Receipt.MessageID, first[i].Receipt.MessageID)
		}
	}
}

func TestResend_BatchWholeRequestErrors(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 5*time.Second)
	s.fake.Inject(resendfake.ErrorFault(429, "rate_limit_exceeded", "Too many requests."))
	_, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 2, Attempt: 1}, batchEmails(3))
	if err == nil || provider.IsPermanent(err) || provider.MaybeSent(err) {
		t.Fatalf("a 429 must be transient for the whole batch, got %v", err)
	}
	if _, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 3, Attempt: 1}, batchEmails(101)); err == nil || !provider.IsPermanent(err) {
		t.Fatalf("101 emails: want a permanent error before any request, got %v", err)
	}
	withFile := batchEmails(2)
	withFile[0].Attachments = []provider.Attachment{{Filename: "a.txt", Content: []byte("x")}}
	if s.client.Batchable(withFile[0]) {
		t.Fatal("an email with attachments must go single")
	}
	if _, err := s.client.SendEmailBatch(context.Background(), provider.Batch{ID: 4, Attempt: 1}, withFile); err == nil || !provider.IsPermanent(err) {
		t.Fatalf("attachments: want a permanent error, got %v", err)
	}
	if n := len(s.fake.Emails()); n != 0 {
		t.Fatalf("the fake sent %d emails; want none", n)
	}
}

// The fake refuses what Resend's batch endpoint refuses, in both modes.
func TestResendFake_BatchRefusesWhatResendRefuses(t *testing.T) {
	t.Parallel()
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	post := func(mode string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, fake.URL()+"/emails/batch", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+resendfake.DefaultAPIKey)
		if mode != "" {
			req.Header.Set("X-Batch-Validation", mode)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	ok := map[string]any{"from": "a@acme.test", "to": []string{"b@example.test"}, "subject": "s", "text": "t"}
	withFile := map[string]any{"from": "a@acme.test", "to": "b@example.test", "subject": "s", "text": "t",
		"attachments": []map[string]string{{"filename": "a.txt", "content": "eA=="}}}
	scheduled := map[string]any{"from": "a@acme.test", "to": "b@example.test", "subject": "s", "text": "t",
		"scheduled_at": "in 1 min"}

	if st, out := post("", []any{ok, withFile}); st != 422 || out["name"] != "validation_error" {
		t.Fatalf("strict with an attachment: %d %v", st, out)
	}
	if st, _ := post("", []any{ok, scheduled}); st != 422 {
		t.Fatalf("strict with scheduled_at: %d", st)
	}
	if n := len(fake.Emails()); n != 0 {
		t.Fatalf("strict mode sent %d emails of a refused batch", n)
	}
	if st, out := post("permissive", []any{ok, withFile, ok}); st != 200 ||
		len(out["data"].([]any)) != 2 || len(out["errors"].([]any)) != 1 ||
		out["errors"].([]any)[0].(map[string]any)["index"] != float64(1) {
		t.Fatalf("permissive: %d %v", st, out)
	}
	many := make([]any, 101)
	for i := range many {
		many[i] = ok
	}
	if st, _ := post("permissive", many); st != 422 {
		t.Fatalf("101 emails: %d", st)
	}
	if st, _ := post("permissive", []any{}); st != 422 {
		t.Fatalf("empty batch: %d", st)
	}
	if st, _ := post("lenient", []any{ok}); st != 422 {
		t.Fatalf("unknown mode: %d", st)
	}
}
