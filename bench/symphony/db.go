package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	return connectWith(ctx, url, nil)
}

// connectWith is connect with settings (name → value) given to every session
// of the pool when it starts.
func connectWith(ctx context.Context, url string, settings map[string]string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, fmt.Errorf("-db is required (a database with the Symphony migrations applied)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 16 // eight dispatching clients, a loader and probes at once
	for k, v := range settings {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("error connecting to %s: %w", url, err)
	}
	return pool, nil
}

// reset empties the queue and turns the master flag off, so that preloaded
// messages wait until a run turns it on.
func reset(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `truncate symphony.messages cascade;
		update symphony.flags set enabled = false where name = 'symphony'`)
	if err != nil {
		return fmt.Errorf("error resetting the queue: %w", err)
	}
	return nil
}

func setMaster(ctx context.Context, pool *pgxpool.Pool, on bool) error {
	_, err := pool.Exec(ctx, `update symphony.flags set enabled = $1 where name = 'symphony'`, on)
	return err
}

// emailRows is a set-based dispatch of $1 valid email.send messages: each row
// still goes through the validation trigger, as an application's would.
const emailRows = `insert into symphony.messages (kind, payload)
select 'email.send', jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'bench@example.com',
                                        'subject', 'bench ' || g, 'text', 'hello')
  from generate_series(1, $1) g`

// bulkRows is emailRows at a campaign's priority (-1), to bulk<g>@example.com:
// bulk mail the sidecar batches.
const bulkRows = `insert into symphony.messages (kind, payload, priority)
select 'email.send', jsonb_build_object('to', 'bulk' || g || '@example.com', 'from', 'news@example.com',
                                        'subject', 'news ' || g, 'text', 'hello'), -1
  from generate_series(1, $1) g`

// smsRows is emailRows for sms.send.
const smsRows = `insert into symphony.messages (kind, payload)
select 'sms.send', jsonb_build_object('to', '+1415' || lpad(g::text, 7, '0'), 'body', 'hello')
  from generate_series(1, $1) g`

// load dispatches n email messages in statements of at most 50,000.
func load(ctx context.Context, pool *pgxpool.Pool, n int) error {
	return loadRows(ctx, pool, emailRows, n)
}

// loadRows dispatches n messages with rows in statements of at most 50,000.
func loadRows(ctx context.Context, pool *pgxpool.Pool, rows string, n int) error {
	for left := n; left > 0; left -= 50000 {
		if _, err := pool.Exec(ctx, rows, min(left, 50000)); err != nil {
			return fmt.Errorf("error dispatching %d messages: %w", n, err)
		}
	}
	return nil
}

// unfinished reports whether any message is still pending or processing. It
// runs inside the timed drain, so it reads the partial indexes only: the
// statistics from loading say every row is pending, and the planner's scan of
// the whole table cost 190 ms at the end of a 200k-message run (30 ms this way).
func unfinished(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var any bool
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `set local enable_seqscan = off`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `select exists (select 1 from symphony.messages where state = 'pending')
		                             or exists (select 1 from symphony.messages where state = 'processing')`).Scan(&any)
	})
	return any, err
}
