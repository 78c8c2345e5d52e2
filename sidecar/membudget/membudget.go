// Package membudget bounds the bytes the sidecar holds for attachments: the
// files fetched from Supabase Storage and the provider request bodies that
// carry them base64-encoded. Each email with attachments reserves its
// estimated cost before it fetches anything and gives it back when its
// provider call is over; emails without attachments never reserve and so
// never wait here, whatever the concurrency. One email whose cost alone is
// over the budget fails for good (ErrTooLarge); the others wait their turn,
// first come first served, for as long as their context allows.
package membudget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
)

// Factor is what one attachment byte costs in memory while an email is sent:
// the fetched bytes (1), their base64 string (4/3), and the JSON request body
// holding it (4/3) after an encoder buffer that grew by doubling (up to 8/3):
// about 6 at the peak of building the body.
const Factor = 6

// Overhead is charged once per email with attachments, for the rest of its
// request body and the provider's answer.
const Overhead = 64 << 10

// Share is the part of the runtime's soft memory limit given to attachments
// when the budget is worked out from it (Default).
const Share = 0.6

// Fallback is the budget when the runtime has no memory limit (no cgroup
// limit and no GOMEMLIMIT).
const Fallback = 512 << 20

// Cost is the estimated memory, in bytes, of an email carrying attachments
// of n bytes in all.
func Cost(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n > (math.MaxInt64-Overhead)/Factor {
		return math.MaxInt64
	}
	return n*Factor + Overhead
}

// Default is the budget for the runtime's soft memory limit (set from the
// cgroup by memlimit, or GOMEMLIMIT): Share of it, or Fallback without one.
func Default() int64 {
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		return int64(float64(l) * Share)
	}
	return Fallback
}

// ErrTooLarge is wrapped by the error of Acquire for a cost over the whole budget.
var ErrTooLarge = errors.New("over the memory budget for attachments")

// Budget is a weighted semaphore of bytes; a nil *Budget admits everything.
type Budget struct {
	size int64

	mu      sync.Mutex
	used    int64
	waiters []*waiter // first come, first served
}

type waiter struct {
	n     int64
	ready chan struct{} // closed once the bytes are reserved for it
}

// New returns a budget of size bytes.
func New(size int64) *Budget { return &Budget{size: size} }

// Size is the budget in bytes.
func (b *Budget) Size() int64 {
	if b == nil {
		return 0
	}
	return b.size
}

// InUse is the bytes reserved now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Waiting is how many reservations wait for room now.
func (b *Budget) Waiting() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}

// Reservation is bytes held by one email; Release gives them back (once;
// later calls do nothing).
type Reservation struct {
	b    *Budget
	n    int64
	once sync.Once
}

// Bytes is the size of the reservation.
func (r *Reservation) Bytes() int64 {
	if r == nil || r.b == nil {
		return 0
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.n
}

// Shrink lowers the reservation to n bytes when that is less (once the real
// size of what was reserved for is known), letting others use the rest.
func (r *Reservation) Shrink(n int64) {
	if r == nil || r.b == nil || n < 0 || n >= r.n {
		return
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.n == 0 || n >= r.n { // released meanwhile, or not less
		return
	}
	r.b.used -= r.n - n
	r.n = n
	r.b.grant()
}

// Release returns the bytes to the budget and wakes who can go next.
func (r *Reservation) Release() {
	if r == nil || r.b == nil {
		return
	}
	r.once.Do(func() {
		r.b.mu.Lock()
		r.b.used -= r.n
		r.n = 0
		r.b.grant()
		r.b.mu.Unlock()
	})
}

// Acquire reserves n bytes, waiting while others hold them. It fails at once
// with ErrTooLarge when n is over the whole budget, and with ctx's error when
// ctx ends first. n <= 0 reserves nothing and never waits.
func (b *Budget) Acquire(ctx context.Context, n int64) (*Reservation, error) {
	if b == nil || n <= 0 {
		return &Reservation{}, nil
	}
	if n > b.size {
		return nil, fmt.Errorf("%w: needs about %d bytes, the budget is %d bytes", ErrTooLarge, n, b.size)
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return &Reservation{b: b, n: n}, nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return &Reservation{b: b, n: n}, nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
		}
		b.grant()
		b.mu.Unlock()
		return nil, ctx.Err()
	}
}

// grant hands bytes to the waiters at the head of the line while they fit.
// b.mu is held.
func (b *Budget) grant() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		close(w.ready)
		b.waiters[0] = nil
		b.waiters = b.waiters[1:]
	}
}
