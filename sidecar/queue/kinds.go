package queue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// RemoteKind is a kind registered with a handler outside the sidecar.
type RemoteKind struct {
	Kind    string
	Handler string         // edge_function or webhook
	Config  map[string]any // the handler's settings from symphony.kinds.config
}

// RemoteKinds returns every kind whose handler is not built in.
func (s *Store) RemoteKinds(ctx context.Context) ([]RemoteKind, error) {
	rows, err := s.pool.Query(ctx, queries.RemoteKinds)
	if err != nil {
		return nil, fmt.Errorf("error reading remote kinds: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RemoteKind, error) {
		var k RemoteKind
		err := row.Scan(&k.Kind, &k.Handler, &k.Config)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("error reading remote kinds: %w", err)
	}
	return out, nil
}
