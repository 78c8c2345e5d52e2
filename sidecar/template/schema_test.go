package template_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	"github.com/symphonymessenger/symphony/sidecar/template"
)

// The schema checks templates at insert (symphony.template_variables) and the
// sidecar renders them: both must agree on what a template is and which
// variables it uses, or a campaign accepted at insert could fail at send.
func TestParse_AgreesWithSchema(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	srcs := []string{"", "plain", "Hi {{ name }}", "{{a}}{{b}}{{a}}", "{{{x}}}", "a {{{b}}{", "{{ first name }}",
		"{{\tx\n}}", "{{x}", "}}{{", "{{_1}}", "{{1a}}", "é{{é}}", "{{x\v}}"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"{", "{", "}", "}", "a", "b", "_", "1", " ", "\n", "é", "{{", "}}", "{{x}}"}
	for range 3000 {
		var s string
		for range r.IntN(12) {
			s += alphabet[r.IntN(len(alphabet))]
		}
		srcs = append(srcs, s)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `create function pg_temp.vars(t text) returns text[] language plpgsql as $$
		begin return symphony.template_variables('t', t); exception when sqlstate '22023' then return null; end $$`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `select pg_temp.vars(s) from unnest($1::text[]) with ordinality u(s, i) order by i`, srcs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var sqlVars []string
		if err := rows.Scan(&sqlVars); err != nil {
			t.Fatal(err)
		}
		src := srcs[i]
		i++
		tpl, err := template.Parse("t", src)
		switch {
		case (err == nil) != (sqlVars != nil):
			t.Errorf("%q: Go parse error %v, SQL variables %v", src, err, sqlVars)
		case err == nil && !slices.Equal(tpl.Vars(), sqlVars) && !(len(sqlVars) == 0 && len(tpl.Vars()) == 0):
			t.Errorf("%q: Go variables %v, SQL %v", src, tpl.Vars(), sqlVars)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(srcs) {
		t.Fatalf("compared %d of %d templates", i, len(srcs))
	}
}
