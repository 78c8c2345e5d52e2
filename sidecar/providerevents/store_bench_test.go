package providerevents_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/providerevents"
)

// A SendGrid-sized batch (1,000 events over 1,000 sent messages, in one
// request) recorded in one statement; reports events per second.
func BenchmarkStore_Record1000(b *testing.B) {
	db := pgtest.NewDB(b)
	ctx := context.Background()
	const n = 1000
	if _, err := db.Pool.Exec(ctx, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'u' || g || '@example.com', 'from', 'me@example.com', 'subject', 's', 'text', 't')
		  from generate_series(1, $1) g`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update symphony.messages set state = 'succeeded', finished_at = now(),
		result = jsonb_build_object('provider', 'sendgrid', 'provider_message_id', 'sg' || id); analyze symphony.messages`); err != nil {
		b.Fatal(err)
	}
	var first int64
	_ = db.Pool.QueryRow(ctx, `select min(id) from symphony.messages`).Scan(&first)
	store := providerevents.NewStore(db.Pool)
	at := time.Now()
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		evs := make([]providerevents.Event, n)
		for i := range evs {
			id := fmt.Sprintf("sg%d", first+int64(i))
			evs[i] = providerevents.Event{Provider: "sendgrid", MessageID: id, ProviderEvent: "delivered", Status: providerevents.Delivered,
				Recipient: fmt.Sprintf("u%d@example.com", i+1), At: at.Add(time.Duration(round) * time.Second),
				Key: fmt.Sprintf("%s|delivered|%d", id, round), Raw: []byte(`{"event":"delivered"}`)}
		}
		if _, err := store.Record(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
