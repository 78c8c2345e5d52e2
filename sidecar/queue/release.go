package queue

import (
	"context"
	"fmt"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Release hands back messages this worker claimed and never started: pending
// again, the attempt not counted. It returns how many it released.
func (s *Store) Release(ctx context.Context, ids []int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Release, ids, s.workerID)
	if err != nil {
		return 0, fmt.Errorf("error releasing %d messages: %w", len(ids), err)
	}
	return tag.RowsAffected(), nil
}
