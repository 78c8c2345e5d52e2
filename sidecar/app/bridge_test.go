package app_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

const legacyTable = `create table public.email_queue (
	id bigserial primary key,
	user_id text not null,
	recipient text not null,
	subject text not null,
	body text not null,
	status text not null default 'pending',
	sent_at timestamptz,
	provider_message_id text,
	error text,
	created_at timestamptz not null default now())`

const installBridge = `select symphony.install_bridge('email_queue', 'public.email_queue', 'email_queue', 'email.send',
	'{"to": "recipient", "subject": "subject", "html": "body", "from": {"const": "noreply@acme.test"}}',
	'{"subject_column": "user_id", "status_column": "status", "sent_at_column": "sent_at",
	  "provider_id_column": "provider_message_id", "error_column": "error"}')`

// legacyWorker is the old cron route, as the migration guide tells its owners to change
// it: it takes only rows that are not Symphony's, and counts what it "sends".
type legacyWorker struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	sent map[int64]int
}

func (l *legacyWorker) runOnce(ctx context.Context) (int, error) {
	rows, err := l.pool.Query(ctx, `
		update public.email_queue set status = 'sent', sent_at = now()
		 where id in (select id from public.email_queue
		               where status = 'pending' and handled_by is distinct from 'symphony'
		               order by id limit 200 for update skip locked)
		returning id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	l.mu.Lock()
	defer l.mu.Unlock()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return n, err
		}
		l.sent[id]++
		n++
	}
	return n, rows.Err()
}

// The migration drill: a legacy worker beside the sidecar over 10,000 rows
// through 0 → 10 → 50 → 100 → 0 %: every row is handled exactly once by exactly
// one system, nothing is lost either way, the rollback hands unstarted rows
// back, and each cohort matches its percentage.
func TestBridge_MigrationDrillExactlyOnce(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := context.Background()
	exec(t, db.Pool, legacyTable)
	exec(t, db.Pool, installBridge)
	exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'email_queue'`)

	fake := newFake(func(int, provider.Send) error { return nil })
	fake.delay = 2 * time.Millisecond // slow enough that a backlog exists when the flag flips
	cfg := testConfig(db)
	cfg.Queues = map[string]int{"email": 4}
	start(t, cfg, fake, fake)

	legacy := &legacyWorker{pool: db.Pool, sent: map[int64]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if _, err := legacy.runOnce(ctx); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	phases := []struct{ percent, rows int }{{0, 2000}, {10, 2000}, {50, 2000}, {100, 2500}, {0, 1500}}
	next := 0
	for i, ph := range phases {
		exec(t, db.Pool, `update symphony.flags set rollout_percent = $1 where name = 'email_queue'`, ph.percent)
		for b := 0; b < ph.rows; b += 250 {
			exec(t, db.Pool, `insert into public.email_queue (user_id, recipient, subject, body)
				select 'user-' || g, 'u' || g || '@example.com', 'phase ' || $3::int, '<p>hello</p>'
				  from generate_series($1::int, $2::int) g`, next+b+1, next+b+250, i)
		}
		next += ph.rows
		if ph.percent == 100 {
			// The rollback: flag off while Symphony still has a backlog.
			exec(t, db.Pool, `update symphony.flags set enabled = false where name = 'email_queue'`)
			exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'email_queue'`)
		}
	}
	total := next

	waitFor(t, 60*time.Second, "every row to be sent", func() bool {
		var pending int
		_ = db.Pool.QueryRow(ctx, `select count(*) from public.email_queue where status <> 'sent'`).Scan(&pending)
		return pending == 0
	})
	close(stop)
	wg.Wait()

	// Exactly once, by exactly one system.
	symphonySent := map[int64]int{}
	rows, err := db.Pool.Query(ctx, `select (m.meta->>'source_id')::bigint, m.id from symphony.messages m where m.meta ? 'bridge'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var src, mid int64
		if err := rows.Scan(&src, &mid); err != nil {
			t.Fatal(err)
		}
		symphonySent[src] += fake.callsFor(mid)
	}
	rows.Close()
	for id := int64(1); id <= int64(total); id++ {
		l, s := legacy.sent[id], symphonySent[id]
		if l+s != 1 {
			t.Fatalf("row %d sent %d times by legacy and %d by Symphony; want exactly once in all", id, l, s)
		}
	}

	// Symphony's results were written back; the owner column names who sent it.
	var mismatched, noProviderID int
	_ = db.Pool.QueryRow(ctx, `select count(*) filter (where handled_by is null),
		count(*) filter (where handled_by = 'symphony' and provider_message_id is null)
		from public.email_queue`).Scan(&mismatched, &noProviderID)
	if mismatched != 0 || noProviderID != 0 {
		t.Fatalf("%d rows without an owner, %d Symphony rows without a provider id", mismatched, noProviderID)
	}
	var handedBack int
	_ = db.Pool.QueryRow(ctx, `select count(*) from symphony.bridge_rows where handed_back_at is not null`).Scan(&handedBack)
	if handedBack == 0 {
		t.Fatal("the rollback handed nothing back: the drill did not exercise it")
	}
	legacyTotal := 0
	for id, n := range legacy.sent {
		legacyTotal += n
		if owner := ownerOf(t, db.Pool, id); owner != "legacy" {
			t.Fatalf("legacy sent row %d owned by %q", id, owner)
		}
	}

	// Cohorts match the percentages: the routing decision per phase.
	for i, ph := range phases {
		var routed int
		_ = db.Pool.QueryRow(ctx, `select count(*) from symphony.bridge_rows r join public.email_queue q on q.id::text = r.source_id
			where r.routed_to = 'symphony' and q.subject = 'phase ' || $1::int`, i).Scan(&routed)
		share := 100 * float64(routed) / float64(ph.rows)
		t.Logf("phase %d at %3d%%: %4d of %d rows routed to Symphony (%.1f%%)", i, ph.percent, routed, ph.rows, share)
		if math.Abs(share-float64(ph.percent)) > 3.5 {
			t.Fatalf("phase %d: %.1f%% routed at rollout %d%%", i, share, ph.percent)
		}
	}
	t.Logf("%d rows: %d sent by legacy, %d by Symphony, %d handed back by the rollback", total, legacyTotal, total-legacyTotal, handedBack)

	var cmp string
	_ = db.Pool.QueryRow(ctx, `select string_agg(format('%s:%s:%s', system, rows, succeeded), ' ' order by system) from symphony.migration_compare`).Scan(&cmp)
	if cmp != fmt.Sprintf("legacy:%d:%d symphony:%d:%d", legacyTotal, legacyTotal, total-legacyTotal, total-legacyTotal) {
		t.Fatalf("migration_compare says %q", cmp)
	}
}

func ownerOf(t *testing.T, pool *pgxpool.Pool, id int64) string {
	t.Helper()
	var owner string
	if err := pool.QueryRow(context.Background(), `select handled_by from public.email_queue where id = $1`, id).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	return owner
}

// Raising the percentage only adds subjects: a subject routed at 10% is routed
// at 50% and 100% too, and rows route by subject, not by row.
func TestBridge_RaisingPercentOnlyAddsSubjects(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, legacyTable)
	exec(t, db.Pool, installBridge)
	exec(t, db.Pool, `update symphony.flags set enabled = true where name = 'email_queue'`)
	routed := func(percent int) map[string]bool {
		exec(t, db.Pool, `update symphony.flags set rollout_percent = $1 where name = 'email_queue'`, percent)
		exec(t, db.Pool, `insert into public.email_queue (user_id, recipient, subject, body)
			select 'user-' || g, 'u' || g || '@example.com', $1::text, 'x' from generate_series(1, 1000) g`, fmt.Sprint(percent))
		rows, err := db.Pool.Query(context.Background(), `select user_id from public.email_queue where subject = $1 and handled_by = 'symphony'`, fmt.Sprint(percent))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var u string
			_ = rows.Scan(&u)
			out[u] = true
		}
		return out
	}
	at10, at50, at100 := routed(10), routed(50), routed(100)
	for u := range at10 {
		if !at50[u] || !at100[u] {
			t.Fatalf("subject %s routed at 10%% but not at a higher percentage", u)
		}
	}
	for u := range at50 {
		if !at100[u] {
			t.Fatalf("subject %s routed at 50%% but not at 100%%", u)
		}
	}
	if len(at100) != 1000 || len(at10) == 0 || len(at10) >= len(at50) {
		t.Fatalf("cohorts: %d at 10%%, %d at 50%%, %d at 100%%", len(at10), len(at50), len(at100))
	}
}
