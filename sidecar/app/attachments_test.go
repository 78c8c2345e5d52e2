package app_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/storage/storagefake"
)

// An attachment kept in Supabase Storage reaches the provider in its own
// format (Resend: base64 content); one over the size limit is dead with the
// reason and costs no provider call.
func TestAttachments_FromSupabaseStorageToTheProvider(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	files := storagefake.New("service-key")
	t.Cleanup(files.Close)
	pdf := []byte("%PDF-1.7 invoice 42")
	files.Put("invoices", "2026/11/inv-42.pdf", "application/pdf", pdf)
	files.Put("invoices", "huge.bin", "application/octet-stream", make([]byte, 4096))
	mail := resendfake.New(resendfake.Options{})
	t.Cleanup(mail.Close)
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, mail.URL()
	cfg.Providers.SupabaseURL, cfg.Providers.SupabaseServiceRoleKey = files.URL(), "service-key"
	cfg.AttachmentMaxBytes = 1024
	start(t, cfg, nil, nil)

	dispatchID(t, db.Pool, "email.send", `{"to":"a@example.com","from":"me@example.com","subject":"Your invoice","text":"Attached.",
		"attachments":[{"filename":"inv-42.pdf","storage":{"bucket":"invoices","path":"2026/11/inv-42.pdf"}}]}`, `{}`)
	huge := dispatchID(t, db.Pool, "email.send", `{"to":"a@example.com","from":"me@example.com","subject":"Big","text":"x",
		"attachments":[{"filename":"huge.bin","storage":{"bucket":"invoices","path":"huge.bin"}}]}`, `{}`)
	waitFor(t, 5*time.Second, "both to finish", func() bool {
		return countState(t, db.Pool, "succeeded") == 1 && countState(t, db.Pool, "dead") == 1
	})
	emails := mail.Emails()
	if len(emails) != 1 || len(emails[0].Attachments) != 1 {
		t.Fatalf("provider received %+v", emails)
	}
	a := emails[0].Attachments[0]
	if a.Filename != "inv-42.pdf" || a.Content != base64.StdEncoding.EncodeToString(pdf) || a.ContentType != "application/pdf" {
		t.Fatalf("attachment sent as %+v", a)
	}
	var lastError, state string
	_ = db.Pool.QueryRow(context.Background(), `select state, last_error from symphony.messages where id = $1`, huge).Scan(&state, &lastError)
	if !strings.Contains(lastError, "SYMPHONY_ATTACHMENT_MAX_BYTES") {
		t.Fatalf("oversized attachment: %s %q", state, lastError)
	}
}
