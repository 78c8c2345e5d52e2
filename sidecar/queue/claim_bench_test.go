package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// BenchmarkStore_Claim500 claims a batch of 500: the read of a claim's rows
// (claimReader) must cost what rows.Scan did.
func BenchmarkStore_Claim500(b *testing.B) {
	db := pgtest.NewDB(b)
	ctx := context.Background()
	db.Exec(b, `update symphony.flags set enabled = true where name = 'symphony'`)
	db.Exec(b, `insert into symphony.messages (kind, payload) select 'email.send', $1::jsonb from generate_series(1, 500)`, emailPayload)
	s := queue.NewStore(db.Pool, "bench")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db.Exec(b, `update symphony.messages set state = 'pending', locked_by = null, locked_until = null, attempts = 0`)
		b.StartTimer()
		msgs, err := s.Claim(ctx, "email", 500, time.Minute)
		if err != nil || len(msgs) != 500 {
			b.Fatalf("claim: %v, %d messages", err, len(msgs))
		}
	}
}
