package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Flag is one row of symphony.flag_status.
type Flag struct {
	Name             string     `db:"name" json:"name"`
	Enabled          bool       `db:"enabled" json:"enabled"`
	RolloutPercent   int        `db:"rollout_percent" json:"rollout_percent"`
	EffectivePercent int        `db:"effective_percent" json:"effective_percent"`
	Description      *string    `db:"description" json:"description"`
	UpdatedAt        time.Time  `db:"updated_at" json:"updated_at"`
	UpdatedBy        string     `db:"updated_by" json:"updated_by"`
	LastChangedAt    *time.Time `db:"last_changed_at" json:"last_changed_at"`
	LastChangedBy    *string    `db:"last_changed_by" json:"last_changed_by"`
}

// Flags returns every flag, the master switch first.
func (s *Store) Flags(ctx context.Context) ([]Flag, error) {
	return collect[Flag](ctx, s.db, "flags", queries.OpsFlags)
}

// FlagChange is a change to one flag; nil fields stay as they are.
type FlagChange struct {
	Enabled        *bool
	RolloutPercent *int
}

// SetFlag changes flag name, recording actor in symphony.flag_changes (an empty
// actor leaves symphony.actor() to name the database user).
func (s *Store) SetFlag(ctx context.Context, name string, c FlagChange, actor string) (Flag, error) {
	if c.Enabled == nil && c.RolloutPercent == nil {
		return Flag{}, errors.New("nothing to change")
	}
	if p := c.RolloutPercent; p != nil && (*p < 0 || *p > 100) {
		return Flag{}, fmt.Errorf("rollout percent %d is not between 0 and 100", *p)
	}
	err := s.asActor(ctx, actor, func(db DB) error {
		var got string
		return db.QueryRow(ctx, queries.OpsFlagSet, name, c.Enabled, c.RolloutPercent).Scan(&got)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Flag{}, s.unknownFlag(ctx, name)
	}
	if err != nil {
		return Flag{}, fmt.Errorf("error setting flag %s: %w", name, err)
	}
	flags, err := s.Flags(ctx)
	if err != nil {
		return Flag{}, err
	}
	for _, f := range flags {
		if f.Name == name {
			return f, nil
		}
	}
	return Flag{}, fmt.Errorf("flag %s vanished after it was set", name)
}

func (s *Store) unknownFlag(ctx context.Context, name string) error {
	flags, err := s.Flags(ctx)
	if err != nil {
		return fmt.Errorf("unknown flag %q", name)
	}
	names := make([]string, len(flags))
	for i, f := range flags {
		names[i] = f.Name
	}
	return fmt.Errorf("unknown flag %q (flags: %s)", name, strings.Join(names, ", "))
}
