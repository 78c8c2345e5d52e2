package supabasecheck

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rateLimitRecipe finds a setting of a rate-limit bucket written in a doc, in a
// sql block or inline.
var rateLimitRecipe = regexp.MustCompile("(?s)update symphony\\.rate_limits set [^;`]*?where name = '[a-z_]+'")

// The operator's rate-limit settings the docs give (a rate, a burst, Twilio's
// account concurrency) run as written as postgres, who is no superuser on
// Supabase, each setting one bucket, and take effect: what the sidecars read
// of the bucket afterwards is what the recipe set.
func TestSupabase_RateLimitRecipesRunAsWritten(t *testing.T) {
	tx := connect(t)
	ctx := t.Context()
	var recipes []string
	for _, path := range []string{"docs/providers.md", "docs/migration-guide.md", "docs/tuning.md", "README.md"} {
		for _, r := range rateLimitRecipe.FindAllString(readDocAt(t, path), -1) {
			recipes = append(recipes, strings.Join(strings.Fields(r), " "))
		}
	}
	var concurrency int
	for _, want := range []string{"set per_second = 2, burst = 2 where name = 'email'", "set concurrency = 100 where name = 'sms'",
		"set concurrency = 60 where name = 'sms'"} {
		found := false
		for _, r := range recipes {
			found = found || strings.HasSuffix(r, want)
		}
		if !found {
			t.Fatalf("no recipe ending %q in the docs; found %q", want, recipes)
		}
	}
	for _, r := range recipes {
		tag, err := tx.Exec(ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if tag.RowsAffected() != 1 {
			t.Fatalf("%s set %d buckets, want 1", r, tag.RowsAffected())
		}
		if !strings.Contains(r, "concurrency = ") {
			continue
		}
		// No sidecar is live here: one sidecar's share is the whole of it.
		if err := tx.QueryRow(ctx, `select symphony._concurrency_share('sms', 'docs')`).Scan(&concurrency); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r, "concurrency = "+strconv.Itoa(concurrency)+" ") {
			t.Fatalf("after %s a sidecar's share is %d", r, concurrency)
		}
	}
	var perSecond float64
	var burst int
	if err := tx.QueryRow(ctx, `select per_second::float8, burst from symphony.rate_limits where name = 'email'`).Scan(&perSecond, &burst); err != nil {
		t.Fatal(err)
	}
	if perSecond != 2 || burst != 2 {
		t.Fatalf("the email bucket is at %v/s, burst %d; the recipe set 2 and 2", perSecond, burst)
	}
}
