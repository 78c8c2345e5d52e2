package storage_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/storage/storagefake"
)

func TestSupabase_FetchesThroughASignedURL(t *testing.T) {
	t.Parallel()
	fake := storagefake.New("service-key")
	t.Cleanup(fake.Close)
	fake.Put("invoices", "2026/11/inv-42.pdf", "application/pdf", []byte("%PDF-1.7 fake"))
	f, err := storage.NewSupabase(fake.URL(), "service-key", httpx.New(httpx.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	b, ct, err := f.Fetch(context.Background(), "invoices", "2026/11/inv-42.pdf", 1<<20)
	if err != nil || string(b) != "%PDF-1.7 fake" || ct != "application/pdf" {
		t.Fatalf("Fetch = %q, %q, %v", b, ct, err)
	}
	if fake.Signed() != 1 {
		t.Fatalf("%d URLs signed, want 1", fake.Signed())
	}
}

func TestSupabase_FetchErrors(t *testing.T) {
	t.Parallel()
	fake := storagefake.New("service-key")
	t.Cleanup(fake.Close)
	fake.Put("b", "big.bin", "", make([]byte, 5000))
	hc := httpx.New(httpx.Config{})
	good, _ := storage.NewSupabase(fake.URL(), "service-key", hc)
	badKey, _ := storage.NewSupabase(fake.URL(), "wrong-key", hc)
	ctx := context.Background()

	_, _, err := good.Fetch(ctx, "b", "missing.pdf", 1<<20)
	if !provider.IsPermanent(err) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing object: %v, want a permanent not-found error", err)
	}
	_, _, err = good.Fetch(ctx, "b", "big.bin", 4096)
	if !provider.IsPermanent(err) || !strings.Contains(err.Error(), "SYMPHONY_ATTACHMENT_MAX_BYTES") {
		t.Errorf("too large: %v, want a permanent size error", err)
	}
	_, _, err = badKey.Fetch(ctx, "b", "big.bin", 1<<20)
	if !provider.IsPermanent(err) {
		t.Errorf("bad key: %v, want permanent", err)
	}
	if strings.Contains(errString(err), "wrong-key") {
		t.Errorf("the key leaked into the error: %v", err)
	}
	fake.FailNext(http.StatusInternalServerError)
	_, _, err = good.Fetch(ctx, "b", "big.bin", 1<<20)
	if err == nil || provider.IsPermanent(err) {
		t.Errorf("storage outage: %v, want a transient error", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	fake.Delay(time.Second)
	_, _, err = good.Fetch(cctx, "b", "big.bin", 1<<20)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung storage: %v, want the deadline", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
