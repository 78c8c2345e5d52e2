package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/dashboard"
	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// Finished history over the last 14 days, set-based with the table's
// triggers off (this benchmark database only): email and SMS, 0.1 % dead (a
// failure queue of 10,000 at 10M: the overview reads it whole, so its cost
// follows the failure queue, not the history), a tenth retried, waits of up
// to 200 ms. $1..$2 are row numbers of $3 in all.
const dashboardHistory = `insert into symphony.messages
  (kind, queue, payload, state, attempts, max_attempts, available_at, created_at, attempted_at, finished_at, result, last_error)
select case when g % 5 = 0 then 'sms.send' else 'email.send' end, case when g % 5 = 0 then 'sms' else 'email' end,
       '{"to": "old@example.com", "from": "bench@example.com", "subject": "old", "text": "hello"}',
       case when g % 1000 = 0 then 'dead' else 'succeeded' end, 1 + (g % 10 = 0)::int, 5,
       t, t, t + (g % 200) * interval '1 millisecond', t + (g % 200) * interval '1 millisecond' + interval '300 milliseconds',
       case when g % 1000 <> 0 then '{"provider": "log", "provider_message_id": "log-1"}'::jsonb end,
       case when g % 1000 = 0 then 'rejected' end
  from generate_series($1::bigint, $2::bigint) g,
       lateral (select now() - interval '14 days' + (g::float8 / $3) * interval '14 days' - interval '2 minutes' as t) ts`

// A busy last hour: $1 more finished messages over the hour up to two minutes
// ago, as the overview counts the last hour's work.
const dashboardHour = `insert into symphony.messages
  (kind, queue, payload, state, attempts, max_attempts, available_at, created_at, attempted_at, finished_at, result)
select 'email.send', 'email', '{"to": "hour@example.com", "from": "bench@example.com", "subject": "hour", "text": "hello"}',
       'succeeded', 1, 5, t, t, t + interval '20 milliseconds', t + interval '300 milliseconds',
       '{"provider": "log", "provider_message_id": "log-1"}'::jsonb
  from generate_series(1, $1::bigint) g,
       lateral (select now() - interval '62 minutes' + (g::float8 / $1) * interval '1 hour' as t) ts`

// The rest of what the views show: delivery reports on 1 % of the messages,
// a bridge with 1 % as many rows, a running campaign of $R recipients (a number put in by fill), all
// sent half an hour ago (a backlog of them pending would time the pending count instead), and a drip.
const dashboardExtras = `
insert into symphony.delivery_events (message_id, provider, event_key, status, occurred_at, received_at)
select id, case queue when 'sms' then 'twilio' else 'resend' end, 'b' || id,
       case when id % 6100 = 0 then 'bounced' when id % 39700 = 0 and queue = 'email' then 'complained' else 'delivered' end,
       finished_at + interval '20 seconds', finished_at + interval '21 seconds'
  from symphony.messages where id % 100 = 0 and state = 'succeeded';
create table if not exists public.bench_email_queue (id bigserial primary key, user_id text not null, recipient text not null,
  subject text not null, body text not null, status text not null default 'pending', sent_at timestamptz);
select symphony.install_bridge('bench_email', 'public.bench_email_queue', 'email_queue', 'email.send',
  '{"to": "recipient", "subject": "subject", "html": "body", "from": {"const": "bench@example.com"}}',
  '{"subject_column": "user_id", "status_column": "status", "sent_at_column": "sent_at"}')
 where not exists (select 1 from symphony.bridges where name = 'bench_email');
insert into symphony.bridge_rows (bridge, source_id, routed_to, owner, created_at, finished_at, outcome)
select 'bench_email', g::text, s, s, t, t + interval '2 seconds', 'succeeded'
  from generate_series(1, $1::bigint / 100) g,
       lateral (select now() - interval '14 days' + (g::float8 / ($1::bigint / 100)) * interval '14 days' - interval '2 minutes' as t,
                       case when g % 2 = 0 then 'symphony' else 'legacy' end as s) x
on conflict do nothing;
insert into symphony.campaigns (name, "from", subject, "text") values ('bench campaign', 'bench@example.com', 'Hi', 'Hello');
insert into symphony.campaign_recipients (campaign_id, email)
select currval(pg_get_serial_sequence('symphony.campaigns', 'id')), 'r' || g || '@example.com' from generate_series(1, $R) g;
insert into symphony.messages (kind, payload, meta, dedupe_key)
select 'email.send', jsonb_build_object('to', email, 'from', 'bench@example.com', 'subject', 'Hi', 'text', 'Hello'),
       jsonb_build_object('campaign_id', campaign_id, 'recipient_id', id), format('campaign:%s:%s', campaign_id, id)
  from symphony.campaign_recipients;
update symphony.campaign_recipients r set status = 'queued', message_id = m.id
  from symphony.messages m where m.dedupe_key = format('campaign:%s:%s', r.campaign_id, r.id);
alter table symphony.messages disable trigger user;
update symphony.messages set state = 'succeeded', attempts = 1, attempted_at = now() - interval '30 minutes',
       finished_at = now() - interval '30 minutes', result = '{"provider": "log", "provider_message_id": "log-1"}'
 where state = 'pending' and dedupe_key like 'campaign:%';
alter table symphony.messages enable trigger user;
update symphony.campaigns set status = 'running', started_at = now() - interval '40 minutes', queued = $R;
insert into symphony.drips (name) values ('bench drip');
insert into symphony.drip_steps (drip_id, position, delay, body)
select currval(pg_get_serial_sequence('symphony.drips', 'id')), p, p * interval '1 day', 'step ' || p from generate_series(0, 2) p;
insert into symphony.drip_enrollments (drip_id, phone)
select currval(pg_get_serial_sequence('symphony.drips', 'id')), '+1415777' || lpad(g::text, 4, '0') from generate_series(1, 2000) g`

func runDashboard(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	history := fs.Int("history", 10000000, "finished messages in history, over the last 14 days")
	minute := fs.Int("minute", 50000, "messages finished in the one minute whose roll-up is timed")
	hour := fs.Int("hour", 1000000, "more messages finished over the last hour (the overview counts them)")
	recipients := fs.Int("recipients", 100000, "recipients of the running campaign")
	requests := fs.Int("requests", 20, "timed requests per page")
	backlog := fs.Int("backlog", 100000, "pending messages added afterwards, to time the overview over a backlog")
	keep := fs.Bool("keep", false, "leave the history in the database afterwards, for EXPLAIN")
	reuse := fs.Bool("reuse", false, "time the pages over the history a -keep run left")
	_ = fs.Parse(args)
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	label := human(*history)
	note := fmt.Sprintf("%s finished messages over 14 days in history, %s in the last hour, a campaign of %s",
		label, human(*hour), human(*recipients))
	if *reuse {
		if err := timePages(ctx, pool, *requests, note); err != nil {
			return err
		}
		if err := timeBacklog(ctx, pool, *backlog, *requests, note); err != nil {
			return err
		}
		return timeMinute(ctx, pool, *minute, note)
	}
	if err := reset(ctx, pool); err != nil {
		return err
	}
	if !*keep {
		defer func() { _ = reset(context.WithoutCancel(ctx), pool) }() // drop the history: it is gigabytes
	}
	_, err = pool.Exec(ctx, `truncate symphony.message_minutes, symphony.bridge_minutes, symphony.delivery_days,
		symphony.rollup_watermarks, symphony.bridge_rows, symphony.campaigns, symphony.drips cascade`)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := fill(ctx, pool, *history, *hour, *recipients); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %s finished messages over 14 days (%s, with VACUUM ANALYZE)\n", label, time.Since(began).Round(time.Second))

	// The first roll-up catches up with the whole history, a day per call.
	began = time.Now()
	for {
		var n int
		if err := pool.QueryRow(ctx, `select symphony.roll_up(interval '1 day')`).Scan(&n); err != nil {
			return err
		}
		var behind bool
		err := pool.QueryRow(ctx, `select coalesce(bool_or(upto < date_trunc('minute', now()) - interval '1 minute'), false)
			from symphony.rollup_watermarks where name in ('messages', 'bridge_rows')`).Scan(&behind)
		if err != nil {
			return err
		}
		if !behind {
			break
		}
	}
	emit(figure{Name: "rollup_catchup_s_" + label, Value: time.Since(began).Seconds(), Unit: "s",
		Note: "first symphony.roll_up() over the whole history, once; " + note})

	if err := timePages(ctx, pool, *requests, note); err != nil {
		return err
	}
	if err := timeBacklog(ctx, pool, *backlog, *requests, note); err != nil {
		return err
	}

	// The steady state, after the pages: one minute of that many finished
	// messages, rolled up.
	return timeMinute(ctx, pool, *minute, note)
}

// campaignsLive is the campaigns view's query before the counts were rolled
// up, timed beside the page.
//
//go:embed campaigns_live.sql
var campaignsLive string

// timeStatement runs sql n times after a warm-up and returns the median in ms.
func timeStatement(ctx context.Context, pool *pgxpool.Pool, n int, sql string, args ...any) (float64, error) {
	var times []time.Duration
	for i := range n + 1 {
		t := time.Now()
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if i > 0 {
			times = append(times, time.Since(t))
		}
	}
	return median(times), nil
}

// timeBacklog adds n pending messages (due now, as a campaign just queued
// leaves them) and times the overview over them, beside symphony.queue_stats,
// which counts every pending row (what the overview read before). The backlog
// is removed afterwards.
func timeBacklog(ctx context.Context, pool *pgxpool.Pool, n, requests int, note string) error {
	if n <= 0 {
		return nil
	}
	_, err := pool.Exec(ctx, `alter table symphony.messages disable trigger user`)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `insert into symphony.messages (kind, queue, payload, priority, max_attempts, dedupe_key, available_at)
		select 'email.send', 'email', '{"to": "wait@example.com", "from": "bench@example.com", "subject": "wait", "text": "hello"}',
		       -1, 5, 'bench-backlog:' || g, now() - interval '1 second'
		  from generate_series(1, $1::bigint) g`, n)
	_, _ = pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages enable trigger user`)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = pool.Exec(context.WithoutCancel(ctx), `delete from symphony.messages where dedupe_key like 'bench-backlog:%'`)
	}()
	// Analyzed but not vacuumed: a backlog just queued is not all-visible yet,
	// so counting it reads the rows, not only the index.
	if _, err := pool.Exec(ctx, `analyze symphony.messages`); err != nil {
		return err
	}
	const token = "bench-dashboard-token-0123456789"
	h, err := dashboard.New(dashboard.Config{Token: token, Ops: ops.New(pool), WorkerID: "bench", Version: "bench"})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ms, size, err := timePage(ctx, srv.URL+"/dashboard", token, requests)
	if err != nil {
		return err
	}
	emit(figure{Name: "dashboard_ms_overview_backlog", Value: ms, Unit: "ms",
		Note: fmt.Sprintf("GET /dashboard with %s messages pending, server time to the last byte, median of %d (%d kB); %s",
			human(n), requests, size/1000, note)})
	view, err := timeStatement(ctx, pool, min(requests, 5), `select * from symphony.queue_stats`)
	if err != nil {
		return err
	}
	emit(figure{Name: "queue_stats_view_ms_backlog", Value: view, Unit: "ms",
		Note: fmt.Sprintf("select * from symphony.queue_stats (every pending row counted: what the overview read before) with %s pending, median of %d; %s",
			human(n), min(requests, 5), note)})
	// The backlog sent (here: deleted), its statistics stay until the next
	// ANALYZE: the planner still expects a large backlog, which made it
	// expect many retrying messages too and compile the recent failures with
	// JIT (0.15-0.3 s) until the pages read with JIT off.
	if _, err := pool.Exec(ctx, `delete from symphony.messages where dedupe_key like 'bench-backlog:%'`); err != nil {
		return err
	}
	ms, size, err = timePage(ctx, srv.URL+"/dashboard", token, requests)
	if err != nil {
		return err
	}
	emit(figure{Name: "dashboard_ms_overview_drained", Value: ms, Unit: "ms",
		Note: fmt.Sprintf("GET /dashboard once that backlog is gone, before the next ANALYZE (the statistics still count it), median of %d (%d kB); %s",
			requests, size/1000, note)})
	return nil
}

// timeMinute times symphony.roll_up() over one more minute of n finished messages.
func timeMinute(ctx context.Context, pool *pgxpool.Pool, n int, note string) error {
	if err := oneMinute(ctx, pool, n); err != nil {
		return err
	}
	t := time.Now()
	if _, err := pool.Exec(ctx, `select symphony.roll_up()`); err != nil {
		return err
	}
	emit(figure{Name: "rollup_minute_ms", Value: float64(time.Since(t).Microseconds()) / 1000, Unit: "ms",
		Note: fmt.Sprintf("symphony.roll_up() of one minute with %d finished messages (pg_cron runs it every minute); %s", n, note)})
	return nil
}

// timePages serves the dashboard in process and times each page.
func timePages(ctx context.Context, pool *pgxpool.Pool, requests int, note string) error {
	// The machine's floor, to read the pages' figures against: a bare round trip.
	var trips []time.Duration
	for range requests {
		t := time.Now()
		if _, err := pool.Exec(ctx, "select 1"); err != nil {
			return err
		}
		trips = append(trips, time.Since(t))
	}
	emit(figure{Name: "dashboard_select1_ms", Value: median(trips), Unit: "ms",
		Note: "median round trip of `select 1` on the same pool, just before the pages: the machine's floor; " + note})
	const token = "bench-dashboard-token-0123456789"
	h, err := dashboard.New(dashboard.Config{Token: token, Ops: ops.New(pool), WorkerID: "bench", Version: "bench"})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []struct{ name, path string }{
		{"overview", "/dashboard"}, {"activity_1h", "/dashboard/activity"}, {"activity_1d", "/dashboard/activity?window=1d"},
		{"migration_1h", "/dashboard/migration"}, {"migration_1d", "/dashboard/migration?window=1d"}, {"campaigns", "/dashboard/campaigns"}, {"delivery", "/dashboard/delivery"},
	} {
		ms, size, err := timePage(ctx, srv.URL+p.path, token, requests)
		if err != nil {
			return fmt.Errorf("%s: %w", p.path, err)
		}
		emit(figure{Name: "dashboard_ms_" + p.name, Value: ms, Unit: "ms",
			Note: fmt.Sprintf("GET %s, server time to the last byte, median of %d (%d kB); %s", p.path, requests, size/1000, note)})
	}
	live, err := timeStatement(ctx, pool, min(requests, 5), campaignsLive, 20, (7 * 24 * time.Hour).Milliseconds())
	if err != nil {
		return err
	}
	emit(figure{Name: "campaigns_live_count_ms", Value: live, Unit: "ms",
		Note: fmt.Sprintf("the campaigns view's query before the rollup (every recipient looked up), alone, median of %d; %s", min(requests, 5), note)})
	return nil
}

// fill adds n finished messages (a million per statement) and the rest of
// what the views show, then does what autovacuum would have done.
func fill(ctx context.Context, pool *pgxpool.Pool, n, hour, recipients int) error {
	if _, err := pool.Exec(ctx, `alter table symphony.messages disable trigger user`); err != nil {
		return err
	}
	for lo := 1; lo <= n; lo += 1000000 {
		if _, err := pool.Exec(ctx, dashboardHistory, lo, min(lo+999999, n), n); err != nil {
			_, _ = pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages enable trigger user`)
			return fmt.Errorf("error adding history: %w", err)
		}
	}
	if hour > 0 {
		if _, err := pool.Exec(ctx, dashboardHour, hour); err != nil {
			_, _ = pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages enable trigger user`)
			return fmt.Errorf("error adding the last hour: %w", err)
		}
	}
	if _, err := pool.Exec(ctx, `alter table symphony.messages enable trigger user`); err != nil {
		return err
	}
	extras := strings.ReplaceAll(dashboardExtras, "$R", strconv.Itoa(recipients))
	for _, stmt := range strings.Split(extras, ";\n") {
		var args []any
		if strings.Contains(stmt, "$1") {
			args = append(args, n)
		}
		if _, err := pool.Exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("error adding the campaign, drip, bridge and delivery reports: %w\n%s", err, stmt)
		}
	}
	_, err := pool.Exec(ctx, `vacuum (analyze) symphony.messages, symphony.delivery_events, symphony.bridge_rows`)
	return err
}

// oneMinute finishes n more messages in the last minute rolled up, and moves
// the watermark back over it, as if they had just finished.
func oneMinute(ctx context.Context, pool *pgxpool.Pool, n int) error {
	_, err := pool.Exec(ctx, `alter table symphony.messages disable trigger user`)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `insert into symphony.messages
		  (kind, queue, payload, state, attempts, max_attempts, available_at, created_at, attempted_at, finished_at)
		select 'email.send', 'email', '{"to": "new@example.com", "from": "bench@example.com", "subject": "new", "text": "hello"}',
		       'succeeded', 1, 5, t, t, t, t
		  from (select upto - interval '1 minute' + g * (interval '59 seconds' / $1) as t
		          from symphony.rollup_watermarks, generate_series(1, $1) g where name = 'messages') x`, n)
	_, _ = pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages enable trigger user`)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `update symphony.rollup_watermarks set upto = upto - interval '1 minute' where name = 'messages'`)
	return err
}

// timePage GETs url a few times to warm up, then n times, and returns the
// median time to the last byte and the page's size.
func timePage(ctx context.Context, url, token string, n int) (float64, int, error) {
	var times []time.Duration
	size := 0
	for i := range n + 3 {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		t := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(t)
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != 200 {
			// The page says what failed in its error box; the head is only styles.
			why := string(b)
			if i := strings.Index(why, `<div class="error">`); i >= 0 {
				why = why[i:]
			}
			return 0, 0, fmt.Errorf("status %d: %.500s", resp.StatusCode, why)
		}
		size = len(b)
		if i >= 3 {
			times = append(times, took)
		}
	}
	slices.Sort(times)
	return float64(times[len(times)/2].Microseconds()) / 1000, size, nil
}
