package membudget_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/membudget"
)

func acquire(t *testing.T, b *membudget.Budget, n int64) *membudget.Reservation {
	t.Helper()
	r, err := b.Acquire(context.Background(), n)
	if err != nil {
		t.Fatalf("Acquire(%d): %v", n, err)
	}
	return r
}

// started runs Acquire in a goroutine and reports its outcome on the channel.
func started(ctx context.Context, b *membudget.Budget, n int64) chan error {
	done := make(chan error, 1)
	go func() {
		r, err := b.Acquire(ctx, n)
		if err == nil {
			defer r.Release()
		}
		done <- err
	}()
	return done
}

func waitWaiting(t *testing.T, b *membudget.Budget, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); b.Waiting() != want; {
		if time.Now().After(deadline) {
			t.Fatalf("Waiting = %d, want %d", b.Waiting(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitInUse(t *testing.T, b *membudget.Budget, want int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); b.InUse() != want; {
		if time.Now().After(deadline) {
			t.Fatalf("InUse = %d, want %d", b.InUse(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAcquire_WaitsForRoomAndReleaseLetsTheNextIn(t *testing.T) {
	t.Parallel()
	b := membudget.New(100)
	first := acquire(t, b, 70)
	got := make(chan *membudget.Reservation)
	go func() {
		r, err := b.Acquire(context.Background(), 50)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	waitWaiting(t, b, 1)
	if b.InUse() != 70 {
		t.Fatalf("InUse = %d with a second 50 waiting, want 70", b.InUse())
	}
	first.Release()
	second := <-got
	if b.InUse() != 50 {
		t.Fatalf("InUse = %d after the release, want 50", b.InUse())
	}
	second.Release()
	second.Release() // twice does nothing
	if b.InUse() != 0 {
		t.Fatalf("InUse = %d after both released, want 0", b.InUse())
	}
}

func TestAcquire_OverTheWholeBudgetFailsAtOnce(t *testing.T) {
	t.Parallel()
	b := membudget.New(100)
	_, err := b.Acquire(context.Background(), 101)
	if !errors.Is(err, membudget.ErrTooLarge) {
		t.Fatalf("Acquire(101) = %v, want ErrTooLarge", err)
	}
	if want := "needs about 101 bytes, the budget is 100 bytes"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestAcquire_EndsWithTheContextAndLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	b := membudget.New(100)
	hold := acquire(t, b, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := started(ctx, b, 10)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	hold.Release()
	// The cancelled waiter is gone from the line: the whole budget is free.
	acquire(t, b, 100).Release()
	if b.InUse() != 0 {
		t.Fatalf("InUse = %d, want 0", b.InUse())
	}
}

func TestAcquire_NothingNeverWaits(t *testing.T) {
	t.Parallel()
	// Emails without attachments reserve nothing: a full budget and a big
	// waiter in line do not hold them.
	b := membudget.New(100)
	hold := acquire(t, b, 90)
	big := started(context.Background(), b, 60)
	waitWaiting(t, b, 1)
	for i := 0; i < 1000; i++ {
		r := acquire(t, b, 0)
		r.Release()
	}
	hold.Release()
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	var nilBudget *membudget.Budget
	acquire(t, nilBudget, 1<<40).Release()
}

func TestShrink_LetsOthersUseTheRest(t *testing.T) {
	t.Parallel()
	b := membudget.New(100)
	r := acquire(t, b, 100) // reserved for the size bound, before fetching
	done := started(context.Background(), b, 60)
	r.Shrink(30) // fetched: smaller than feared
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitInUse(t, b, 30)
	r.Shrink(50) // never grows
	if r.Bytes() != 30 {
		t.Fatalf("Bytes = %d after Shrink(50), want 30", r.Bytes())
	}
	r.Release()
	r.Shrink(10) // after release: nothing
	if b.InUse() != 0 {
		t.Fatalf("InUse = %d, want 0", b.InUse())
	}
}

func TestAcquire_FirstComeFirstServed(t *testing.T) {
	t.Parallel()
	// A big waiter is not passed forever by small ones arriving after it.
	b := membudget.New(100)
	hold := acquire(t, b, 50)
	big := started(context.Background(), b, 100)
	waitWaiting(t, b, 1)
	small := started(context.Background(), b, 10)
	// 50+10 would fit, but the big one is first in line.
	waitWaiting(t, b, 2)
	hold.Release()
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	if err := <-small; err != nil {
		t.Fatal(err)
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	if membudget.Cost(0) != 0 {
		t.Fatal("no attachments cost something")
	}
	if got := membudget.Cost(10 << 20); got < 10<<20*4/3*2 {
		t.Fatalf("Cost(10 MiB) = %d: less than the bytes and their base64 body", got)
	}
	if got := membudget.Cost(1 << 62); got <= 0 {
		t.Fatalf("Cost(2^62) = %d: overflowed", got)
	}
}
