package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The bare loop is the floor of what any SKIP LOCKED queue costs: claim a batch
// with one statement, complete it with another, nothing else.
const bareSchema = `
drop table if exists bare_jobs;
create table bare_jobs (
  id         bigint generated always as identity primary key,
  state      text not null default 'pending',
  payload    jsonb not null default '{}',
  created_at timestamptz not null default now(),
  locked_at  timestamptz,
  done_at    timestamptz
);
create index bare_jobs_pending on bare_jobs (id) where state = 'pending';`

const bareClaim = `
with next as (
  select id from bare_jobs where state = 'pending' order by id limit $1 for update skip locked
)
update bare_jobs j set state = 'running', locked_at = now() from next where j.id = next.id
returning j.id`

const bareComplete = `update bare_jobs set state = 'done', done_at = now() where id = any($1)`

// runBare preloads n rows, then one loop claims batch rows and completes them,
// until none are left.
func runBare(ctx context.Context, url string, n, batch int, name string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, bareSchema); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `insert into bare_jobs (payload) select '{}' from generate_series(1, $1)`, n); err != nil {
		return err
	}
	began := time.Now()
	done := 0
	for {
		rows, err := pool.Query(ctx, bareClaim, batch)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		if _, err := pool.Exec(ctx, bareComplete, ids); err != nil {
			return err
		}
		done += len(ids)
	}
	took := time.Since(began)
	if done != n {
		return fmt.Errorf("bare loop finished %d of %d rows", done, n)
	}
	emit(figure{Name: name, Value: float64(n) / took.Seconds(), Unit: "rows/s",
		Note: fmt.Sprintf("pgx loop, FOR UPDATE SKIP LOCKED, claim %d then one UPDATE per batch", batch)})
	return nil
}
