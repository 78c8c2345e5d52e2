// Package pgarray has slice types that pgx encodes as PostgreSQL arrays
// without an allocation per element.
//
// pgx encodes a []string or []int64 argument element by element through an
// interface: each string and each int64 above 255 is copied to the heap to be
// boxed. These types hand pgx a one-pointer struct per element instead, which
// boxes for free. For a claim's worth of outcomes (500 ids and states) the
// boxing was a thousand allocations per statement.
package pgarray

import "github.com/jackc/pgx/v5/pgtype"

// Texts encodes as text[] (or any array type taking text elements).
type Texts []string

// Int4s encodes as integer[].
type Int4s []int32

// Int8s encodes as bigint[].
type Int8s []int64

type (
	textRef struct{ s *string }
	int4Ref struct{ n *int32 }
	int8Ref struct{ n *int64 }
)

func dims(n int) []pgtype.ArrayDimension {
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}

func (a Texts) Dimensions() []pgtype.ArrayDimension { return dims(len(a)) }
func (a Texts) Index(i int) any                     { return textRef{&a[i]} }
func (a Texts) IndexType() any                      { return textRef{} }
func (a Int4s) Dimensions() []pgtype.ArrayDimension { return dims(len(a)) }
func (a Int4s) Index(i int) any                     { return int4Ref{&a[i]} }
func (a Int4s) IndexType() any                      { return int4Ref{} }
func (a Int8s) Dimensions() []pgtype.ArrayDimension { return dims(len(a)) }
func (a Int8s) Index(i int) any                     { return int8Ref{&a[i]} }
func (a Int8s) IndexType() any                      { return int8Ref{} }

func (r textRef) TextValue() (pgtype.Text, error) { return pgtype.Text{String: *r.s, Valid: true}, nil }
func (r int4Ref) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(*r.n), Valid: true}, nil
}
func (r int8Ref) Int64Value() (pgtype.Int8, error) { return pgtype.Int8{Int64: *r.n, Valid: true}, nil }
