package suppression

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	queries "github.com/symphonymessenger/symphony/sql"
)

// Checker says which addresses must not be contacted (symphony.suppressions).
type Checker interface {
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

// List reads symphony.suppressions: one primary-key lookup per
// address, right before the provider call, so an opt-out recorded after the
// message was dispatched still stops it.
type List struct{ DB *pgxpool.Pool }

// Suppressed implements Checker.
func (l List) Suppressed(ctx context.Context, channel string, addresses []string, transactional bool) ([]Suppressed, error) {
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

// CancelledBy is the cancelled_by of a message a suppression stopped.
const CancelledBy = "suppression"

// Cancel is the outcome of a message a suppression stopped: cancelled, not
// failed, with the first suppressed address and its reason, and every
// suppressed address in the stored result.
func Cancel(address string, sup []Suppressed) error {
	result, _ := json.Marshal(map[string]any{"suppressed": sup})
	return msgtype.Cancel(CancelledBy, fmt.Sprintf("suppressed: %s (%s)", address, sup[0].Reason), result)
}

// Without returns list minus the suppressed addresses (as recipients named
// them: bare).
func Without(list []provider.Address, sup []Suppressed) []provider.Address {
	return slices.DeleteFunc(slices.Clone(list), func(a provider.Address) bool {
		return slices.ContainsFunc(sup, func(s Suppressed) bool { return s.Address == a.Email })
	})
}
