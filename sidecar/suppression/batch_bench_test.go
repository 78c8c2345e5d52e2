package suppression

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
)

// BenchmarkBatch measures the checks of 200 slots at once against
// a real database. cpu-ns/op is this process's CPU per check (the database
// server's not included): ns/op is mostly waiting for it.
func BenchmarkBatch(b *testing.B) {
	db := pgtest.NewDB(b)
	if _, err := db.Pool.Exec(context.Background(), `select symphony.suppress('email', 'user0@example.com', 'bounced')`); err != nil {
		b.Fatal(err)
	}
	s := &Batch{DB: db.Pool}
	addrs := make([][]string, 1000)
	for i := range addrs {
		addrs[i] = []string{fmt.Sprintf("user%d@example.com", i)}
	}
	var n atomic.Int64
	b.SetParallelism(100) // 200 goroutines on 2 cores, as 200 slots
	b.ReportAllocs()
	b.ResetTimer() // not the database's creation: with it, the first round of one check took over a second and ended the run
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for pb.Next() {
			i := n.Add(1) % int64(len(addrs))
			sup, err := s.Suppressed(ctx, "email", addrs[i], false)
			if err != nil || (i == 0) != (len(sup) == 1) {
				b.Errorf("check %d: %v, %v", i, sup, err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/float64(s.queries.Load()), "checks/query")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBatch_OneCheck measures one check at a time, as an idle sidecar
// makes them for each message it wakes up for: ns/op is the round trip and
// the server's time for the statement.
func BenchmarkBatch_OneCheck(b *testing.B) {
	db := pgtest.NewDB(b)
	s := &Batch{DB: db.Pool}
	ctx := context.Background()
	addrs := []string{"user1@example.com"}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Suppressed(ctx, "email", addrs, false); err != nil {
			b.Fatal(err)
		}
	}
}
