package fakehttp

import (
	"math/rand/v2"
	"time"
)

// Random makes a share of requests fail on their own, for soak and chaos tests
// where queuing each fault by hand is impractical: every request that finds no
// queued fault fails with probability Rate, with a fault drawn uniformly from
// Mix. Queued faults (Inject) always come first.
type Random struct {
	// Rate is the probability, 0 to 1, that a request gets a random fault.
	Rate float64
	// Mix is what a random fault may be; empty means DefaultMix(time.Second).
	Mix []Fault
	// Seed makes the sequence of draws repeatable; 0 picks a random seed.
	Seed uint64
}

// DefaultMix is a provider outage in small: server errors, a rate limit, a
// hang of hang (set it past the client's deadline to make it a timeout), a
// reset before acting, and a reset after accepting (the lost answer).
func DefaultMix(hang time.Duration) []Fault {
	return []Fault{Status(500), Status(503), RateLimited("1"), Slow(hang), Reset(), ResetAfterAccept()}
}

type random struct {
	rate   float64
	mix    []Fault
	rng    *rand.Rand
	counts []int
}

// SetRandom turns random faults on, replacing any earlier setting; a zero Rate
// turns them off. It panics on a Rate outside 0 to 1.
func (f *Faults) SetRandom(r Random) {
	if r.Rate < 0 || r.Rate > 1 {
		panic("fakehttp: Random.Rate must be between 0 and 1")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Rate == 0 {
		f.random = nil
		return
	}
	if len(r.Mix) == 0 {
		r.Mix = DefaultMix(time.Second)
	}
	seed := r.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	f.random = &random{rate: r.Rate, mix: append([]Fault(nil), r.Mix...),
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), counts: make([]int, len(r.Mix))}
}

// RandomCounts returns how many random faults of each Mix entry were applied,
// in Mix order (nil when random faults are off).
func (f *Faults) RandomCounts() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.random == nil {
		return nil
	}
	return append([]int(nil), f.random.counts...)
}

// draw returns a random fault, or the zero Fault. f.mu must be held.
func (f *Faults) draw() Fault {
	r := f.random
	if r == nil || r.rng.Float64() >= r.rate {
		return Fault{}
	}
	i := r.rng.IntN(len(r.mix))
	r.counts[i]++
	return r.mix[i]
}
