package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Finished history, made set-based with the table's triggers off (this
// benchmark database only): succeeded email messages from yesterday.
const historyRows = `insert into symphony.messages
  (kind, queue, payload, state, attempts, max_attempts, available_at, created_at, attempted_at, finished_at, result)
select 'email.send', 'email',
       jsonb_build_object('to', 'old' || g || '@example.com', 'from', 'bench@example.com', 'subject', 'old ' || g, 'text', 'hello'),
       'succeeded', 1, 5, t, t, t, t + interval '1 second',
       '{"provider": "log", "provider_message_id": "log-1", "status": "captured"}'
  from generate_series(1, $1) g, lateral (select now() - interval '1 day' + g * interval '1 microsecond' as t) ts`

func runHistory(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	levels := fs.String("levels", "0,1000000,10000000", "finished messages in history, ascending")
	pending := fs.Int("pending", 20000, "messages claimed at each level")
	sent := fs.Int("sent", 100000, "messages sent through the queue before the single claims that read past their index entries")
	_ = fs.Parse(args)
	hs, err := ints(*levels)
	if err != nil {
		return fmt.Errorf("-levels: %w", err)
	}
	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	defer func() { _ = reset(context.WithoutCancel(ctx), pool) }() // drop the history: it is gigabytes
	if err := setMaster(ctx, pool, true); err != nil {
		return err
	}
	if err := deadHead(ctx, pool, *sent); err != nil {
		return err
	}
	if err := reset(ctx, pool); err != nil {
		return err
	}
	if err := setMaster(ctx, pool, true); err != nil {
		return err
	}
	have := 0
	for _, h := range hs {
		if h > have {
			began := time.Now()
			if err := addHistory(ctx, pool, h-have); err != nil {
				return err
			}
			have = h
			fmt.Fprintf(os.Stderr, "  history at %d finished messages (%s, with VACUUM ANALYZE)\n", h, time.Since(began).Round(time.Second))
		}
		if err := claimCost(ctx, pool, h, *pending); err != nil {
			return err
		}
	}
	return nil
}

func addHistory(ctx context.Context, pool *pgxpool.Pool, n int) error {
	if _, err := pool.Exec(ctx, `alter table symphony.messages disable trigger user`); err != nil {
		return err
	}
	defer pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages enable trigger user`)
	for left := n; left > 0; left -= 1000000 {
		if _, err := pool.Exec(ctx, historyRows, min(left, 1000000)); err != nil {
			return fmt.Errorf("error adding history: %w", err)
		}
	}
	if _, err := pool.Exec(ctx, `alter table symphony.messages enable trigger user`); err != nil {
		return err
	}
	// What autovacuum would have done while a real history built up.
	_, err := pool.Exec(ctx, `vacuum (analyze) symphony.messages`)
	return err
}

var buffersRE = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)

// claimCost dispatches pending messages, then claims them 100 at a time with
// claim.sql and completes each batch with complete.sql, timing both.
func claimCost(ctx context.Context, pool *pgxpool.Pool, h, pending int) error {
	if err := load(ctx, pool, pending); err != nil {
		return err
	}
	// One claim under EXPLAIN (ANALYZE, BUFFERS), rolled back: pages touched.
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, "explain (analyze, buffers) "+queries.Claim, "email", 100, "bench", int64(60000))
	if err != nil {
		tx.Rollback(ctx)
		return err
	}
	buffers := 0
	for rows.Next() {
		var line string
		_ = rows.Scan(&line)
		if m := buffersRE.FindStringSubmatch(line); m != nil && buffers == 0 {
			hit, _ := strconv.Atoi(m[1])
			read, _ := strconv.Atoi(m[2] + "0")
			buffers = hit + read/10
		}
	}
	rows.Close()
	tx.Rollback(ctx)

	store := queue.NewStore(pool, "bench")
	var claims, completes []time.Duration
	began := time.Now()
	for {
		t := time.Now()
		msgs, err := store.Claim(ctx, "email", 100, time.Minute)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		claims = append(claims, time.Since(t))
		t = time.Now()
		if err := succeed(ctx, store, msgs); err != nil {
			return err
		}
		completes = append(completes, time.Since(t))
	}
	took := time.Since(began)
	label := human(h)
	note := fmt.Sprintf("%s finished messages in history; %d pending claimed 100 at a time (claim.sql), each batch completed (complete.sql)", label, pending)
	emit(figure{Name: "claim_ms_" + label, Value: median(claims), Unit: "ms", Note: "median claim of 100; " + note})
	emit(figure{Name: "complete_ms_" + label, Value: median(completes), Unit: "ms", Note: "median completion of 100; " + note})
	emit(figure{Name: "claim_buffers_" + label, Value: float64(buffers), Unit: "pages", Note: "shared buffers one claim of 100 touched (EXPLAIN ANALYZE BUFFERS); " + note})
	emit(figure{Name: "claim_loop_" + label, Value: float64(pending) / took.Seconds(), Unit: "msgs/s", Note: "claim + complete, one loop; " + note})
	return nil
}

// deadHead sends n messages through the queue (claimed and completed 500 at a
// time), then times claims of one message, each dispatched alone, as an idle
// sidecar's wake-ups after a campaign: first with the n messages' entries still
// at the head of the pending index, then after a VACUUM, which the table's
// settings bring within a minute of 20,000 dead row versions. Autovacuum is
// off for the table meanwhile (this benchmark database only), so that the
// first figure is the state a claim finds before it runs.
func deadHead(ctx context.Context, pool *pgxpool.Pool, n int) error {
	if _, err := pool.Exec(ctx, `alter table symphony.messages set (autovacuum_enabled = off)`); err != nil {
		return err
	}
	defer pool.Exec(context.WithoutCancel(ctx), `alter table symphony.messages reset (autovacuum_enabled)`)
	if err := load(ctx, pool, n); err != nil {
		return err
	}
	store := queue.NewStore(pool, "bench")
	for {
		msgs, err := store.Claim(ctx, "email", 500, time.Minute)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		if err := succeed(ctx, store, msgs); err != nil {
			return err
		}
	}
	singles := func() (float64, error) {
		var took []time.Duration
		for range 21 {
			if err := load(ctx, pool, 1); err != nil {
				return 0, err
			}
			t := time.Now()
			msgs, err := store.Claim(ctx, "email", 10, time.Minute)
			if err != nil {
				return 0, err
			}
			took = append(took, time.Since(t))
			if len(msgs) != 1 {
				return 0, fmt.Errorf("a claim after one dispatch took %d messages", len(msgs))
			}
			if err := succeed(ctx, store, msgs); err != nil {
				return 0, err
			}
		}
		return median(took), nil
	}
	before, err := singles()
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `vacuum symphony.messages`); err != nil {
		return err
	}
	after, err := singles()
	if err != nil {
		return err
	}
	label := human(n)
	note := fmt.Sprintf("median of 21 claims (claim.sql), each of the one message just dispatched, right after %s messages were claimed and completed through the queue", label)
	emit(figure{Name: "claim1_dead_ms", Value: before, Unit: "ms", Note: note + ": their entries still at the head of the pending index"})
	emit(figure{Name: "claim1_vacuumed_ms", Value: after, Unit: "ms", Note: note + ", after a VACUUM removed their entries"})
	return nil
}

// succeed completes claimed messages as the log provider's successes.
func succeed(ctx context.Context, store *queue.Store, msgs []msgtype.Message) error {
	out := make([]queue.Outcome, len(msgs))
	for i, m := range msgs {
		out[i] = queue.Outcome{ID: m.ID, Attempt: m.Attempt, State: queue.Succeeded,
			Result: json.RawMessage(`{"provider":"log","provider_message_id":"log-1","status":"captured"}`)}
	}
	_, err := store.Complete(ctx, out)
	return err
}

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}

func human(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
