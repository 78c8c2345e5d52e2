package handler

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// BenchmarkEmail_Handle measures one email.send through the log provider
// without a suppression list, payload decoding included.
//
//	go test ./sidecar/handler -run '^$' -bench 'Email_Handle|Suppression|Receipt' -benchmem
func BenchmarkEmail_Handle(b *testing.B) {
	h := Email{Sender: outbox.New(100, slog.New(slog.DiscardHandler))}
	m := &queue.Message{ID: 1, Kind: "email.send", Queue: "email", Meta: []byte(`{}`), Attempt: 1,
		Payload: []byte(`{"to": "user1@example.com", "from": "bench@example.com", "text": "hello", "subject": "bench 1"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSuppressionBatch measures the checks of 200 slots at once against
// a real database. cpu-ns/op is this process's CPU per check (the database
// server's not included): ns/op is mostly waiting for it.
func BenchmarkSuppressionBatch(b *testing.B) {
	db := pgtest.NewDB(b)
	if _, err := db.Pool.Exec(context.Background(), `select symphony.suppress('email', 'user0@example.com', 'bounced')`); err != nil {
		b.Fatal(err)
	}
	s := &SuppressionBatch{DB: db.Pool}
	addrs := make([][]string, 1000)
	for i := range addrs {
		addrs[i] = []string{fmt.Sprintf("user%d@example.com", i)}
	}
	var n atomic.Int64
	b.SetParallelism(100) // 200 goroutines on 2 cores, as 200 slots
	b.ReportAllocs()
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

// BenchmarkReceipt measures the stored result of a send.
func BenchmarkReceipt(b *testing.B) {
	m := &queue.Message{ID: 1, Attempt: 1}
	r := provider.Receipt{Provider: "log", MessageID: "log-123456", Status: "captured"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := receipt(r, m, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransactional measures reading meta.transactional.
func BenchmarkTransactional(b *testing.B) {
	for _, meta := range []string{`{}`, `{"campaign_id": 12, "transactional": true}`} {
		b.Run(meta, func(b *testing.B) {
			raw := []byte(meta)
			b.ReportAllocs()
			for b.Loop() {
				transactional(raw)
			}
		})
	}
}
