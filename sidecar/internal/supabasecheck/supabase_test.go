package supabasecheck

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
)

const docPath = "docs/supabase.md"

// serviceRoleClaims are the claims of a project's service-role key, as PostgREST publishes them.
const serviceRoleClaims = `{"role": "service_role", "iss": "supabase", "iat": 1700000000, "exp": 4102444800}`

// connect opens a connection to the Supabase-shaped cluster as postgres, in a transaction
// that is rolled back when the test ends, so every test leaves the cluster as it found it.
func connect(t *testing.T) pgx.Tx { return connectAs(t, "postgres") }

// connectAs is connect logging in as user (postgres, or authenticator as PostgREST does).
func connectAs(t *testing.T, user string) pgx.Tx {
	t.Helper()
	url, err := pgtest.SupabaseURL()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = user
	ctx := t.Context()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to the supabase cluster as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(ctx)) })
	var super bool
	if err := conn.QueryRow(ctx, `select rolsuper from pg_roles where rolname = current_user`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	if super {
		t.Fatalf("%s is a superuser here; the check means something only without superuser", user)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
	return tx
}

func readDoc(t *testing.T) string { return readDocAt(t, docPath) }

// readDocAt reads path, relative to the repository's root.
func readDocAt(t *testing.T, path string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, path)); err == nil {
			return string(b)
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("%s not found above the working directory", path)
		}
	}
}

// asAPI runs fn as PostgREST runs a request made with a token of role: that role, its
// claims in request.jwt.claims, the exposed schema first on the search path. fn's
// error is returned after the role is reset, in a savepoint so the test carries on.
func asAPI(t *testing.T, tx pgx.Tx, role, claims, schema string, fn func(pgx.Tx) error) error {
	t.Helper()
	ctx := t.Context()
	sp, err := tx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sp.Exec(ctx, fmt.Sprintf(`set local role %s; set local search_path = %s, public, extensions`,
		pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()))
	if err == nil {
		_, err = sp.Exec(ctx, `select set_config('request.jwt.claims', $1, true)`, claims)
	}
	if err != nil {
		t.Fatal(err)
	}
	err = fn(sp)
	if err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	if _, err := sp.Exec(ctx, `reset role; reset search_path; select set_config('request.jwt.claims', '', true)`); err != nil {
		t.Fatal(err)
	}
	if err := sp.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return nil
}

// callRPC makes c the way PostgREST does: the JSON body becomes a record of the
// function's argument types, passed by name.
func callRPC(ctx context.Context, tx pgx.Tx, c rpcCall) (int64, error) {
	names := make([]string, 0, len(c.args))
	for k := range c.args {
		names = append(names, k)
	}
	slices.Sort(names)
	var types []string
	err := tx.QueryRow(ctx, `
		select array_agg(format_type(a.t, null) order by array_position($3::text[], a.n))
		  from pg_proc p, unnest(p.proargnames, p.proargtypes::oid[]) a(n, t)
		 where p.pronamespace = to_regnamespace($1) and p.proname = $2 and a.n = any ($3::text[])
		 group by p.oid
		having count(*) = cardinality($3::text[])`, c.schema, c.fn, names).Scan(&types)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("no function %s.%s takes arguments %v (PostgREST would answer 404)", c.schema, c.fn, names)
	}
	if err != nil {
		return 0, err
	}
	var params, cols []string
	for i, n := range names {
		id := pgx.Identifier{n}.Sanitize()
		params = append(params, id+" := r."+id)
		cols = append(cols, id+" "+types[i])
	}
	body, err := json.Marshal(c.args)
	if err != nil {
		return 0, err
	}
	sql := fmt.Sprintf(`select %s.%s(%s) from json_to_record($1::json) as r(%s)`,
		pgx.Identifier{c.schema}.Sanitize(), pgx.Identifier{c.fn}.Sanitize(), strings.Join(params, ", "), strings.Join(cols, ", "))
	var id int64
	err = tx.QueryRow(ctx, sql, string(body)).Scan(&id)
	return id, err
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// The recipes of docs/supabase.md run as written, as the service role calls them, and
// leave nothing the Advisors would flag.
func TestSupabase_DocsRecipesRunAsWritten(t *testing.T) {
	doc := readDoc(t)
	tx := connect(t)
	ctx := t.Context()

	toml := codeBlocks(doc, "toml")
	if len(toml) != 1 {
		t.Fatalf("%s has %d toml blocks, want the one that exposes api", docPath, len(toml))
	}
	exposed, ok := tomlArray(toml[0], "api", "schemas")
	if !ok || !slices.Contains(exposed, "api") || slices.Contains(exposed, "symphony") {
		t.Fatalf("the toml block exposes %v: it must expose api and never symphony", exposed)
	}

	blocks := codeBlocks(doc, "sql")
	if len(blocks) < 2 {
		t.Fatalf("%s has %d sql blocks; the api schema and the bridge recipe are expected", docPath, len(blocks))
	}
	for i, b := range blocks {
		if _, err := tx.Exec(ctx, b); err != nil {
			t.Fatalf("sql block %d of %s fails as postgres: %v\n%s", i+1, docPath, err, b)
		}
	}

	// A campaign for the start_campaign call, made as the service role would.
	var campaignID int64
	if err := asAPI(t, tx, "service_role", serviceRoleClaims, "api", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `insert into symphony.campaigns (name, "from", subject, "text")
			values ('docs', 'news@acme.test', 'News', 'Hello') returning id`).Scan(&campaignID)
	}); err != nil {
		t.Fatal(err)
	}

	var calls []rpcCall
	for _, ts := range codeBlocks(doc, "ts") {
		cs, err := rpcCalls(ts, map[string]any{"campaignId": campaignID})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, cs...)
	}
	var fns []string
	for _, c := range calls {
		fns = append(fns, c.fn)
	}
	if !slices.Equal(fns, []string{"send_email", "send_sms", "dispatch", "start_campaign"}) {
		t.Fatalf("rpc calls in %s: %v", docPath, fns)
	}
	for _, c := range calls {
		var id int64
		err := asAPI(t, tx, "service_role", serviceRoleClaims, c.schema, func(tx pgx.Tx) (err error) {
			id, err = callRPC(ctx, tx, c)
			return err
		})
		if err != nil {
			t.Errorf("rpc %s as service_role: %v", c.fn, err)
			continue
		}
		var kind, state string
		if err := tx.QueryRow(ctx, `select kind, state from symphony.messages where id = $1`, id).Scan(&kind, &state); err != nil {
			t.Errorf("rpc %s returned %d, which is no message: %v", c.fn, id, err)
			continue
		}
		if state != "pending" {
			t.Errorf("rpc %s queued message %d (%s) as %s, want pending", c.fn, id, kind, state)
		}

		// The anon key reaches none of them.
		err = asAPI(t, tx, "anon", `{"role": "anon", "iss": "supabase"}`, c.schema, func(tx pgx.Tx) error {
			_, err := callRPC(ctx, tx, c)
			return err
		})
		if sqlState(err) != "42501" {
			t.Errorf("rpc %s as anon: %v, want 42501 permission denied", c.fn, err)
		}
	}

	t.Run("BridgedOwner", func(t *testing.T) { checkBridgedOwner(t, tx) })
	t.Run("Lints", func(t *testing.T) { checkLints(t, tx, exposed) })
}

// checkBridgedOwner: on the doc's bridged public.email_queue, a row Symphony took stays
// Symphony's whoever writes the table, the legacy code's service-role key included.
func checkBridgedOwner(t *testing.T, tx pgx.Tx) {
	ctx := t.Context()
	if _, err := tx.Exec(ctx, `update symphony.flags set enabled = true, rollout_percent = 100
		where name in ('symphony', 'email_queue')`); err != nil {
		t.Fatal(err)
	}
	var id int64
	var owner string
	err := asAPI(t, tx, "service_role", serviceRoleClaims, "public", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `insert into public.email_queue (user_id, recipient, subject, body)
			values (gen_random_uuid(), 'a@example.com', 'Hi', '<p>hi</p>') returning id, handled_by`).Scan(&id, &owner)
	})
	if err != nil || owner != "symphony" {
		t.Fatalf("an app insert into the bridged table: owner %q, error %v; want symphony", owner, err)
	}
	err = asAPI(t, tx, "service_role", serviceRoleClaims, "public", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `update public.email_queue set handled_by = 'legacy' where id = $1`, id)
		return err
	})
	if sqlState(err) != "42501" {
		t.Fatalf("service_role moving a pending Symphony row to legacy: %v, want 42501", err)
	}
}

// checkLints runs every lint: it must flag nothing of ours, and must flag its probe.
func checkLints(t *testing.T, tx pgx.Tx, exposed []string) {
	ctx := t.Context()
	run := func(tx pgx.Tx, l lint) []string {
		rows, err := tx.Query(ctx, lintQuery(l), exposed, platformSchemas)
		if err != nil {
			t.Fatalf("lint %s: %v", l.name, err)
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("lint %s: %v", l.name, err)
		}
		return found
	}
	for _, l := range lints {
		if found := run(tx, l); len(found) > 0 {
			t.Errorf("the Advisors' %s flags %s", l.name, strings.Join(found, ", "))
		}
		sp, err := tx.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Exec(ctx, l.probe); err != nil {
			t.Fatalf("lint %s: probe: %v", l.name, err)
		}
		found, want := run(sp, l), cmp.Or(l.flags, "lint_probe")
		if !slices.ContainsFunc(found, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("lint %s does not flag its probe (found %v): it could not fail", l.name, found)
		}
		if err := sp.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// postgres, without superuser, keeps pg_cron's history of Symphony's jobs bounded: on
// Supabase it may delete from cron.job_run_details, and that is all the purge needs.
func TestSupabase_CronHistoryPurgedAsPostgres(t *testing.T) {
	tx := connect(t)
	ctx := t.Context()
	var jobs []string
	if err := tx.QueryRow(ctx, `select array_agg(jobname || ':' || username order by jobname) from cron.job
		where jobname like 'symphony-%'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	want := []string{"symphony-cron-history:postgres", "symphony-purge:postgres", "symphony-rollup:postgres",
		"symphony-scheduler:postgres", "symphony-tick:postgres"}
	if !slices.Equal(jobs, want) {
		t.Fatalf("cron jobs %v, want %v (scheduled by the migrations, as postgres)", jobs, want)
	}
	if _, err := tx.Exec(ctx, `
		insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
		select jobid, nextval('cron.runid_seq'), 1, database, username, command, 'succeeded', '1 row',
		       now() - age - interval '10 ms', now() - age
		  from cron.job, (values (interval '3 hours'), (interval '1 minute')) a(age)
		 where jobname = 'symphony-tick'`); err != nil {
		t.Fatalf("writing run history as postgres: %v", err)
	}
	var purged, left int64
	if err := tx.QueryRow(ctx, `select symphony.purge_cron_history()`).Scan(&purged); err != nil {
		t.Fatalf("purging as postgres: %v", err)
	}
	if err := tx.QueryRow(ctx, `select count(*) from cron.job_run_details d join cron.job j using (jobid)
		where j.jobname = 'symphony-tick' and d.end_time > now() - interval '1 hour'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if purged < 1 || left < 1 {
		t.Fatalf("purge deleted %d rows and left %d recent ones: want the 3-hour-old run gone, the recent one kept", purged, left)
	}
}

// Through the Data API every request logs in as authenticator; the audit trail names
// the token's role instead.
func TestSupabase_AuditNamesTheJWT(t *testing.T) {
	tx := connectAs(t, "authenticator")
	ctx := t.Context()
	var actor, session string
	err := asAPI(t, tx, "service_role", serviceRoleClaims, "public", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update symphony.flags set enabled = true where name = 'sms_drip'`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `select changed_by, session_user from symphony.flag_changes
			where flag = 'sms_drip' order by id desc limit 1`).Scan(&actor, &session)
	})
	if err != nil {
		t.Fatalf("service_role flips a flag: %v", err)
	}
	if session != "authenticator" || actor != "service_role" {
		t.Fatalf("a flag change with the service-role key (session user %s) is audited as %q, want service_role", session, actor)
	}
}
