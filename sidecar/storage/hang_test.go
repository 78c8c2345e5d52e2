package storage_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/storage/storagefake"
)

// A Storage that accepts the connection and never answers costs an attempt its
// deadline and nothing more: each attempt fails transiently, saying so, and
// leaves no goroutine or connection behind. (Not parallel: it counts the
// process's goroutines.)
func TestSupabase_HangingStorageLeaksNothing(t *testing.T) {
	fake := storagefake.New("service-key")
	t.Cleanup(fake.Close)
	fake.Put("b", "a.pdf", "application/pdf", []byte("%PDF"))
	fake.Hang()
	f, err := storage.NewSupabase(fake.URL(), "service-key", httpx.New(httpx.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	const attempts = 10
	for range attempts {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		began := time.Now()
		_, _, err := f.Fetch(ctx, "b", "a.pdf", 1<<20)
		cancel()
		if err == nil || provider.IsPermanent(err) || !strings.Contains(err.Error(), "storage: signing b/a.pdf") {
			t.Fatalf("hung storage: %v, want a transient error naming the object", err)
		}
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("the attempt took %s, past its deadline", d)
		}
	}
	// With no deadline of its own, an attempt still ends: signing has one.
	f.SignTimeout = 100 * time.Millisecond
	began := time.Now()
	_, _, err = f.Fetch(context.Background(), "b", "a.pdf", 1<<20)
	if err == nil || provider.IsPermanent(err) || !strings.Contains(err.Error(), "Storage did not answer in time") {
		t.Fatalf("hung storage, no caller deadline: %v, want a transient error saying Storage did not answer", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("signing took %s with a sign timeout of 100ms", d)
	}
	// Whatever an attempt started is gone shortly after it returns.
	deadline := time.Now().Add(3 * time.Second)
	for {
		g, c := runtime.NumGoroutine(), fake.OpenConns()
		if g <= before+2 && c == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d hung attempts: %d goroutines (were %d), %d connections still open", attempts, g, before, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
