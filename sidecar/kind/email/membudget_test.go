package email_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/kind/email"
	"github.com/symphonymessenger/symphony/sidecar/membudget"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/storage/storagefake"
)

// gate is a sender that holds each email with attachments until released,
// and sends the others at once.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gate) Name() string { return "gate" }

func (g *gate) SendEmail(ctx context.Context, _ provider.Send, e *provider.Email) (provider.Receipt, error) {
	if len(e.Attachments) > 0 {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return provider.Receipt{}, ctx.Err()
		}
	}
	return provider.Receipt{Provider: "gate", MessageID: "x"}, nil
}

func (g *gate) SendSMS(context.Context, provider.Send, *provider.SMS) (provider.Receipt, error) {
	return provider.Receipt{}, errors.New("no sms")
}

func storageEmail(path string) *msgtype.Message {
	return &msgtype.Message{ID: 1, Kind: "email.send", Attempt: 1, Payload: []byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t",
		"attachments":[{"filename":"f.bin","storage":{"bucket":"b","path":"` + path + `"}}]}`)}
}

func plainEmail() *msgtype.Message {
	return &msgtype.Message{ID: 2, Kind: "email.send", Attempt: 1, Payload: []byte(`{"to":"a@example.com","from":"me@example.com","subject":"s","text":"t"}`)}
}

func budgetHandler(t *testing.T, budget int64, files map[string]int) (email.Handler, *gate) {
	t.Helper()
	fake := storagefake.New("service-key")
	t.Cleanup(fake.Close)
	for path, n := range files {
		fake.Put("b", path, "application/octet-stream", bytes.Repeat([]byte{'x'}, n))
	}
	st, err := storage.NewSupabase(fake.URL(), "service-key", &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{entered: make(chan struct{}, 16), release: make(chan struct{}, 16)}
	return email.Handler{Sender: g, Namespace: "ns", Storage: st, MaxAttachmentBytes: 1 << 20,
		Memory: membudget.New(budget)}, g
}

func TestEmail_AttachmentsWaitForMemoryAndPlainEmailsDoNot(t *testing.T) {
	t.Parallel()
	// Room for one 1 MiB email at a time.
	h, g := budgetHandler(t, membudget.Cost(1<<20)+1000, map[string]int{"one": 1 << 20, "two": 1 << 20})
	first := make(chan error, 1)
	go func() { _, err := h.Handle(context.Background(), storageEmail("one")); first <- err }()
	<-g.entered // the first holds its reservation in the provider call

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second := make(chan error, 1)
	go func() { _, err := h.Handle(ctx, storageEmail("two")); second <- err }()
	for deadline := time.Now().Add(10 * time.Second); h.Memory.Waiting() != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the second email with attachments did not wait for memory")
		}
		time.Sleep(time.Millisecond)
	}
	// Emails without attachments go through while it waits.
	for i := 0; i < 20; i++ {
		if _, err := h.Handle(context.Background(), plainEmail()); err != nil {
			t.Fatal(err)
		}
	}
	g.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-g.entered // the second got the memory the first released
	g.release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if h.Memory.InUse() != 0 {
		t.Fatalf("InUse = %d after both were sent, want 0", h.Memory.InUse())
	}
}

func TestEmail_WaitingForMemoryEndsWithTheLeaseAsATransientError(t *testing.T) {
	t.Parallel()
	h, g := budgetHandler(t, membudget.Cost(1<<20)+1000, map[string]int{"one": 1 << 20, "two": 10})
	first := make(chan error, 1)
	go func() { _, err := h.Handle(context.Background(), storageEmail("one")); first <- err }()
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Handle(ctx, storageEmail("two"))
	if err == nil || provider.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Handle = %v, want a transient context error (retried later)", err)
	}
	g.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestEmail_AttachmentsOverTheWholeBudgetFailForGood(t *testing.T) {
	t.Parallel()
	// The size bound allows 1 MiB; the budget holds about 256 KiB of attachment.
	budget := membudget.Cost(256 << 10)
	h, _ := budgetHandler(t, budget, map[string]int{"big": 512 << 10, "small": 100 << 10})
	_, err := h.Handle(context.Background(), storageEmail("big"))
	if !provider.IsPermanent(err) || !errors.Is(err, membudget.ErrTooLarge) {
		t.Fatalf("Handle = %v, want a permanent ErrTooLarge", err)
	}
	for _, want := range []string{"attachments of 524288 bytes", "the budget is"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	// A smaller one still fits, and nothing stays reserved.
	g := h.Sender.(*gate)
	done := make(chan error, 1)
	go func() { _, err := h.Handle(context.Background(), storageEmail("small")); done <- err }()
	<-g.entered
	if got, want := h.Memory.InUse(), membudget.Cost(100<<10); got != want {
		t.Fatalf("InUse = %d while sending 100 KiB, want %d (shrunk to the real size)", got, want)
	}
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.Memory.InUse() != 0 {
		t.Fatalf("InUse = %d, want 0", h.Memory.InUse())
	}
}

func TestEmail_LongWaitsForMemoryDeferWithoutSpendingAnAttempt(t *testing.T) {
	t.Parallel()
	h, g := budgetHandler(t, membudget.Cost(1<<20)+1000, map[string]int{"one": 1 << 20, "two": 10})
	first := make(chan error, 1)
	go func() { _, err := h.Handle(context.Background(), storageEmail("one")); first <- err }()
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := h.Handle(ctx, storageEmail("two"))
	var d *msgtype.DeferError
	if !errors.As(err, &d) || !strings.Contains(d.Reason, "waiting for memory for attachments") {
		t.Fatalf("Handle = %v, want a deferral naming the memory wait", err)
	}
	g.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if h.Memory.InUse() != 0 || h.Memory.Waiting() != 0 {
		t.Fatalf("InUse = %d, Waiting = %d after all; want 0, 0", h.Memory.InUse(), h.Memory.Waiting())
	}
}
