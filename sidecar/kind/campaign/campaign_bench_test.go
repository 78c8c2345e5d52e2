package campaign_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/campaign"
)

// BenchmarkCampaign_FanOut measures fan-out alone: campaign.process turning
// 5,000 recipients into email.send messages in batches of 500 (render, check,
// insert, mark, chain), with the emails marked sent between batches so pacing
// never waits. Reports recipients per second of handler time.
//
//	go test ./sidecar/kind/campaign/ -run XXX -bench FanOut -benchtime 3x
func BenchmarkCampaign_FanOut(b *testing.B) {
	db := pgtest.NewDB(b)
	ctx := context.Background()
	run := func(sql string, args ...any) {
		b.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	run(`update symphony.flags set enabled = true where name = 'symphony'`)
	h := campaign.Handler{DB: db.Pool}
	const n = 5000
	var busy time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		var id int64
		if err := db.Pool.QueryRow(ctx, `insert into symphony.campaigns (name, "from", subject, html, "text", unsubscribe_url)
			values ('bench', 'news@example.com', 'Hello {{name}}', '<p>Hi {{name}}, from {{city}}</p>', 'Hi {{name}}',
			        'https://app.example/u/{{recipient_id}}') returning id`).Scan(&id); err != nil {
			b.Fatal(err)
		}
		run(`insert into symphony.campaign_recipients (campaign_id, email, data)
			select $1, format('r%s-%s@example.com', $1::bigint, g), jsonb_build_object('name', 'R' || g, 'city', 'Paris')
			from generate_series(1, $2) g`, id, n)
		run(`select symphony.start_campaign($1)`, id)
		for more := true; more; {
			m := kindtest.Message(b, db.Pool, `kind = 'campaign.process' and payload ->> 'campaign_id' = $1::bigint::text order by id desc limit 1`, id)
			b.StartTimer()
			t0 := time.Now()
			res, err := h.Handle(ctx, m)
			busy += time.Since(t0)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			more = !strings.Contains(string(res), `"more": false`)
			run(`update symphony.messages set state = 'succeeded', finished_at = now() where kind = 'email.send' and state = 'pending'`)
		}
	}
	b.ReportMetric(float64(n*b.N)/busy.Seconds(), "recipients/s")
}
