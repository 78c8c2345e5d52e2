package queue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// unreadableCode is the error code recorded on a message whose claimed row
// could not be read.
const unreadableCode = "unreadable"

// claimReader reads the rows of a claim column by column with scan plans made
// once per claim, as rows.Scan does, but without its one flaw here: rows.Scan
// closes the rows at the first value it cannot read, and the claim, already
// committed, would strand every message after it in processing. A row that
// cannot be read costs only that row (DESIGN invariant 10).
type claimReader struct {
	plans []pgtype.ScanPlan
	// What claim_limited.sql adds to each row: the tokens granted and the
	// wait (take_tokens's), read from every row; a claim of nothing is a row
	// of them alone.
	granted, waitMs int32
	tokens          bool // the statement returns them
}

// messageColumns is how many columns of a claim describe the message
// (claimed.sql's RETURNING list).
const messageColumns = 11

// read fills m from the current row. It reads every column it can, so that m.ID
// and m.Attempt are set even when another column is unreadable, and returns the
// first column's error. false: the row holds no message (a claim of nothing,
// which still reports its grant).
func (r *claimReader) read(rows pgx.Rows, m *msgtype.Message) (bool, error) {
	// The columns of claimed.sql, in order, then claim_limited.sql's grant
	// and wait.
	dest := [...]any{&m.ID, &m.Kind, &m.Queue, (*[]byte)(&m.Payload), &m.Attempt, &m.MaxAttempts,
		&m.Priority, &m.Subject, (*[]byte)(&m.Meta), &m.CreatedAt, &m.MaybeSentBefore, &r.granted, &r.waitMs}
	fields := rows.FieldDescriptions()
	if len(fields) != messageColumns && len(fields) != len(dest) {
		return false, fmt.Errorf("claim returned %d columns, want %d or %d", len(fields), messageColumns, len(dest))
	}
	r.tokens = len(fields) == len(dest)
	if r.plans == nil {
		tm := rows.Conn().TypeMap()
		r.plans = make([]pgtype.ScanPlan, len(fields))
		for i, f := range fields {
			r.plans[i] = tm.PlanScan(f.DataTypeOID, f.Format, dest[i])
		}
	}
	raw := rows.RawValues()
	var first error
	from := 0
	if raw[0] == nil {
		if !r.tokens {
			return false, fmt.Errorf("claim returned a row without a message")
		}
		from = messageColumns // no message: only the grant and the wait
	}
	for i := from; i < len(raw); i++ {
		if err := r.plans[i].Scan(raw[i], dest[i]); err != nil && first == nil {
			first = fmt.Errorf("column %s: %w", fields[i].Name, err)
		}
	}
	return from == 0, first
}

// endUnreadable ends dead, each alone and saying why, the claimed messages
// whose rows could not be read, through q (the claim's own transaction, when
// it has one). Retrying cannot make a value readable: fix the row, then
// symphony.retry it.
func (s *Store) endUnreadable(ctx context.Context, q querier, bad []Outcome) error {
	if len(bad) == 0 {
		return nil
	}
	if _, err := s.completeOn(ctx, q, bad); err != nil {
		return err
	}
	for _, o := range bad {
		s.log.Warn("a claimed message cannot be read; it ended dead", "message_id", o.ID, "error", o.Error)
	}
	return nil
}

// unreadable is the outcome of a claimed message whose row could not be read.
func unreadable(m *msgtype.Message, err error) Outcome {
	return Outcome{ID: m.ID, Attempt: m.Attempt, State: Dead, Code: unreadableCode,
		Error: fmt.Sprintf("the message cannot be read: %v; fix the row and retry it (symphony.retry)", err)}
}
