package pgarray_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/symphonymessenger/symphony/sidecar/internal/pgarray"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
)

// Each type reaches PostgreSQL as the array it stands for, element for
// element, empty ones included; a nil one is NULL.
func TestArrays_RoundTrip(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	texts := pgarray.Texts{"", "a", "ünï ✓", `quote " and \ backslash`, "{braces,commas}"}
	int4s := pgarray.Int4s{0, -1, 255, 256, math.MaxInt32, math.MinInt32}
	int8s := pgarray.Int8s{0, -1, 256, 1 << 40, math.MaxInt64, math.MinInt64}
	var gotT []string
	var got4 []int32
	var got8 []int64
	var n0, n4, n8 int
	err := db.Pool.QueryRow(ctx, `select $1::text[], $2::integer[], $3::bigint[],
		cardinality($4::text[]), cardinality($5::integer[]), coalesce(cardinality($6::bigint[]), -1)`,
		texts, int4s, int8s, pgarray.Texts{}, pgarray.Int4s{}, pgarray.Int8s(nil)).Scan(&gotT, &got4, &got8, &n0, &n4, &n8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gotT, texts) || !slices.Equal(got4, int4s) || !slices.Equal(got8, int8s) {
		t.Fatalf("round trip: %q %v %v", gotT, got4, got8)
	}
	if n0 != 0 || n4 != 0 || n8 != -1 {
		t.Fatalf("empty arrays came back with %d and %d elements, a nil one as %d; want 0, 0 and NULL (-1), as pgx does with plain slices", n0, n4, n8)
	}
}

// Encoding allocates per statement, not per element, where plain slices
// allocate for every id and every string.
func TestArrays_NoAllocationPerElement(t *testing.T) {
	ids := make([]int64, 500)
	states := make([]string, 500)
	for i := range ids {
		ids[i], states[i] = int64(1e9+i), "succeeded"
	}
	m := pgtype.NewMap()
	buf := make([]byte, 0, 64<<10)
	encode := func(ids, states any) float64 {
		return testing.AllocsPerRun(20, func() {
			var err error
			if buf, err = m.Encode(pgtype.Int8ArrayOID, pgtype.BinaryFormatCode, ids, buf[:0]); err != nil {
				t.Fatal(err)
			}
			if buf, err = m.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, states, buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
	}
	plain, ours := encode(ids, states), encode(pgarray.Int8s(ids), pgarray.Texts(states))
	t.Logf("500 ids and 500 states: %.0f allocations as plain slices, %.0f as pgarray's", plain, ours)
	if ours > 50 || plain < 1000 {
		t.Fatalf("%.0f allocations (plain slices: %.0f) to encode 500 ids and 500 states", ours, plain)
	}
}
