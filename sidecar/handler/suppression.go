package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Suppressions says which addresses must not be contacted (symphony.suppressions).
type Suppressions interface {
	// Suppressed returns the addresses of channel ("email" or "sms") that are
	// suppressed. transactional: the message is not marketing, so an
	// unsubscribe does not stop it (a bounce, complaint or STOP still does).
	Suppressed(ctx context.Context, channel string, addresses []string, transactional bool) ([]Suppressed, error)
}

// Suppressed is one suppressed address, as the message named it.
type Suppressed struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
}

// SuppressionList reads symphony.suppressions: one primary-key lookup per
// address, right before the provider call, so an opt-out recorded after the
// message was dispatched still stops it.
type SuppressionList struct{ DB *pgxpool.Pool }

// Suppressed implements Suppressions.
func (l SuppressionList) Suppressed(ctx context.Context, channel string, addresses []string, transactional bool) ([]Suppressed, error) {
	rows, err := l.DB.Query(ctx, queries.Suppressed, channel, addresses, transactional)
	if err != nil {
		return nil, fmt.Errorf("error checking the suppression list: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Suppressed])
	if err != nil {
		return nil, fmt.Errorf("error checking the suppression list: %w", err)
	}
	return out, nil
}

// CancelledBySuppression is the cancelled_by of a message a suppression stopped.
const CancelledBySuppression = "suppression"

// transactional reports whether a message's meta says {"transactional": true}.
func transactional(meta json.RawMessage) bool {
	if !bytes.Contains(meta, []byte("true")) {
		return false // no JSON true anywhere (most meta): no need to decode it
	}
	var m struct {
		Transactional bool `json:"transactional"`
	}
	_ = json.Unmarshal(meta, &m) // meta is a JSON object (a table constraint)
	return m.Transactional
}

// without returns list minus the suppressed addresses (as recipients named
// them: bare).
func without(list []provider.Address, sup []Suppressed) []provider.Address {
	return slices.DeleteFunc(slices.Clone(list), func(a provider.Address) bool {
		return slices.ContainsFunc(sup, func(s Suppressed) bool { return s.Address == a.Email })
	})
}

// suppressedResult is the result stored with a message a suppression cancelled.
func suppressedResult(sup []Suppressed) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"suppressed": sup})
	return b
}
