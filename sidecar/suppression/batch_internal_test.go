package suppression

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Checks made at the same time are answered by fewer queries than checks, and
// every check gets exactly the answer List gives it alone.
func TestBatch_GathersConcurrentChecks(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for _, q := range []string{
		`select symphony.suppress('email', 'bounced@example.com', 'bounced')`,
		`select symphony.suppress('email', 'unsub@example.com', 'unsubscribed')`,
		`select symphony.suppress('sms', '+14155550100', 'stop')`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	type check struct {
		channel       string
		addresses     []string
		transactional bool
	}
	var checks []check
	for i := range 200 {
		switch i % 4 {
		case 0:
			checks = append(checks, check{"email", []string{"Bo <BOUNCED@example.com>", fmt.Sprintf("ok%d@example.com", i)}, false})
		case 1:
			checks = append(checks, check{"email", []string{"unsub@example.com"}, i%8 == 1})
		case 2:
			checks = append(checks, check{"sms", []string{"+1 (415) 555-0100"}, true})
		default:
			checks = append(checks, check{"email", []string{fmt.Sprintf("ok%d@example.com", i)}, false})
		}
	}
	alone := List{DB: db.Pool}
	want := make([][]Suppressed, len(checks))
	for i, c := range checks {
		s, err := alone.Suppressed(ctx, c.channel, c.addresses, c.transactional)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = s
	}

	b := &Batch{DB: db.Pool}
	got := make([][]Suppressed, len(checks))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s, err := b.Suppressed(ctx, c.channel, c.addresses, c.transactional)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	close(start)
	wg.Wait()
	for i := range checks {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("check %d %+v: batched %+v, alone %+v", i, checks[i], got[i], want[i])
		}
	}
	if len(want[0]) != 1 || len(want[1]) != 0 || len(want[5]) != 1 || len(want[2]) != 1 || len(want[3]) != 0 {
		t.Fatalf("the fixture does not exercise suppression: %+v", want[:10])
	}
	if n := b.queries.Load(); n >= int64(len(checks))/2 {
		t.Fatalf("%d concurrent checks took %d queries; want them gathered", len(checks), n)
	}
	t.Logf("%d concurrent checks, %d queries", len(checks), b.queries.Load())
}

// More checks at once than one statement takes are split into rounds of at
// most maxBatchChecks, and each check still gets its own addresses' answer.
func TestBatch_SplitsRoundsAtMaxChecks(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `select symphony.suppress('email', 'bounced@example.com', 'bounced')`); err != nil {
		t.Fatal(err)
	}
	b := &Batch{DB: db.Pool}
	const n = 3*maxBatchChecks + 1
	got := make([][]Suppressed, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			addrs := []string{fmt.Sprintf("ok%d@example.com", i)}
			if i%3 == 0 {
				addrs = append(addrs, fmt.Sprintf("Check %d <bounced@example.com>", i))
			}
			<-start
			s, err := b.Suppressed(ctx, "email", addrs, false)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		})
	}
	close(start)
	wg.Wait()
	for i, s := range got {
		var want []Suppressed
		if i%3 == 0 {
			want = []Suppressed{{Address: fmt.Sprintf("Check %d <bounced@example.com>", i), Reason: "bounced"}}
		}
		if !slices.Equal(s, want) {
			t.Fatalf("check %d: %+v, want %+v", i, s, want)
		}
	}
	if q := b.queries.Load(); q < 4 {
		t.Fatalf("%d checks in %d queries; want rounds of at most %d", n, q, maxBatchChecks)
	}
}

// When the statement fails, every check of its round gets the error.
func TestBatch_ErrorReachesEveryCheck(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	b := &Batch{DB: db.Pool}
	db.Pool.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			s, err := b.Suppressed(context.Background(), "email", []string{"a@example.com"}, false)
			if err == nil || s != nil || !strings.Contains(err.Error(), "error checking the suppression list") {
				t.Errorf("closed pool: %v, %v; want the error", s, err)
			}
		})
	}
	wg.Wait()
}

// Addresses reach the statement as the message named them, whatever they
// hold: quotes, backslashes, control characters and any Unicode come back
// unchanged, and each answer is List's, by either statement (a few addresses
// travel as JSON, more as arrays; see fewAddresses).
func TestBatch_AddressesAsTheMessageNamedThem(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for _, q := range []string{
		`select symphony.suppress('email', 'ob@example.com', 'bounced')`,
		`select symphony.suppress('email', 'jurgen@example.com', 'complained')`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	odd := []string{
		`"O\"Brien, Jr." <OB@example.com>`,
		`"back\\slash" <ob@example.com>`,
		"tab\there <ob@example.com>",
		"Jürgen 😀 <jurgen@example.com>",
		"\x01odd@example.com",
		"fine@example.com",
	}
	many := slices.Clone(odd)
	for i := len(many); i <= fewAddresses; i++ {
		many = append(many, fmt.Sprintf("pad%d@example.com", i))
	}
	byAddress := func(a, b Suppressed) int { return strings.Compare(a.Address, b.Address) }
	for _, addresses := range [][]string{odd, many} {
		want, err := List{DB: db.Pool}.Suppressed(ctx, "email", addresses, false)
		if err != nil {
			t.Fatal(err)
		}
		b := &Batch{DB: db.Pool}
		got, err := b.Suppressed(ctx, "email", addresses, false)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, byAddress)
		slices.SortFunc(want, byAddress)
		// (A quoted name holding a quote or a backslash is no mailbox to
		// symphony.email_address, nor to the payload decoder: those two
		// match nothing, but must not break the statement.)
		if !slices.Equal(got, want) || len(want) != 2 {
			t.Fatalf("%d addresses: batched %+v, alone %+v (want 2 suppressed: the tab's and Jürgen's)", len(addresses), got, want)
		}
	}
}

// The batched check keeps one plan on a connection: over four text arrays
// PostgreSQL planned it afresh at every call.
func TestBatch_KeepsItsPlan(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(db.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // every check, and the look at its plans, on one connection
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b := &Batch{DB: pool}
	for i := range 20 {
		if _, err := b.Suppressed(ctx, "email", []string{fmt.Sprintf("u%d@example.com", i)}, false); err != nil {
			t.Fatal(err)
		}
	}
	var generic, custom int64
	if err := pool.QueryRow(ctx, `select generic_plans, custom_plans from pg_prepared_statements where statement = $1`,
		queries.SuppressedFew).Scan(&generic, &custom); err != nil {
		t.Fatal(err)
	}
	if custom > 5 || generic < 15 {
		t.Fatalf("20 checks on one connection: %d generic plans and %d custom ones, want the generic one after at most 5", generic, custom)
	}
}
