package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// LearnRateLimit records that the provider behind bucket states perSecond
// (source says where). It reports whether the bucket changed.
func (s *Store) LearnRateLimit(ctx context.Context, bucket string, perSecond float64, source string) (bool, error) {
	var changed bool
	if err := s.pool.QueryRow(ctx, queries.LearnRateLimit, bucket, perSecond, source).Scan(&changed); err != nil {
		return false, fmt.Errorf("error recording the learned rate limit of %s: %w", bucket, err)
	}
	return changed, nil
}

// RateRefused records a 429 from the provider behind bucket, which accepted
// observed requests from this sidecar in the last second (the bucket sums
// every sidecar's count): the learned rate falls and the bucket pauses for
// pause, for every sidecar.
func (s *Store) RateRefused(ctx context.Context, bucket string, observed float64, pause time.Duration) error {
	if _, err := s.pool.Exec(ctx, queries.RateRefused, bucket, s.workerID, observed, pause.Milliseconds()); err != nil {
		return fmt.Errorf("error recording a 429 on %s: %w", bucket, err)
	}
	return nil
}

// RateStray records a 429 alone (between accepted requests) from the
// provider behind bucket, which this sidecar did not read as its limit: the
// bucket counts them for every sidecar (symphony.rate_stray).
func (s *Store) RateStray(ctx context.Context, bucket string) error {
	if _, err := s.pool.Exec(ctx, queries.RateStray, bucket); err != nil {
		return fmt.Errorf("error recording a 429 alone on %s: %w", bucket, err)
	}
	return nil
}

// RateSpent records that an accepted answer of the provider behind bucket
// said its stated window was spent (symphony.rate_spent), and returns the
// rate in force and the ceiling the stated limit sets: both 0 for a bucket
// with an operator's rate or no stated limit.
func (s *Store) RateSpent(ctx context.Context, bucket string) (paced, ceiling float64, err error) {
	var p, c *float64
	if err := s.pool.QueryRow(ctx, queries.RateSpent, bucket).Scan(&p, &c); err != nil {
		return 0, 0, fmt.Errorf("error recording a spent window on %s: %w", bucket, err)
	}
	if p != nil && c != nil {
		paced, ceiling = *p, *c
	}
	return paced, ceiling, nil
}

// RateConcurrency records a 429 over the provider account's concurrency
// limit, inFlight being the requests in flight the provider counted for it
// (itself included), for every sidecar (symphony.rate_concurrency), and
// returns the limit learned.
func (s *Store) RateConcurrency(ctx context.Context, bucket string, inFlight int) (int, error) {
	var c *int
	if err := s.pool.QueryRow(ctx, queries.RateConcurrency, bucket, inFlight).Scan(&c); err != nil {
		return 0, fmt.Errorf("error recording the account's concurrency on %s: %w", bucket, err)
	}
	if c == nil {
		return 0, nil
	}
	return *c, nil
}

// ProbeConcurrency raises bucket's learned concurrency a step when no 429
// set it lately (symphony.probe_concurrency, at most once a second for every
// sidecar), and returns it (0: none learned).
func (s *Store) ProbeConcurrency(ctx context.Context, bucket string) (int, error) {
	var c *int
	if err := s.pool.QueryRow(ctx, queries.ProbeConcurrency, bucket).Scan(&c); err != nil {
		return 0, fmt.Errorf("error probing the account's concurrency on %s: %w", bucket, err)
	}
	if c == nil {
		return 0, nil
	}
	return *c, nil
}

// ProbeRateLimit raises bucket's learned rate when it holds its queue back
// and has not been refused lately (once a second for all sidecars); observed
// is what the provider accepted from this sidecar in the last second, which
// the bucket keeps beside the other sidecars' counts. It returns the learned
// rate in force, 0 when none.
func (s *Store) ProbeRateLimit(ctx context.Context, bucket string, observed float64) (float64, error) {
	var rate *float64
	if err := s.pool.QueryRow(ctx, queries.ProbeRateLimit, bucket, s.workerID, observed).Scan(&rate); err != nil {
		return 0, fmt.Errorf("error probing the rate limit of %s: %w", bucket, err)
	}
	if rate == nil {
		return 0, nil
	}
	return *rate, nil
}

// RateLimit is one bucket as /status, the dashboard and /metrics show it.
type RateLimit struct {
	Bucket string `json:"bucket"`
	// PerSecond is the rate in force (0: unlimited); Source says whose it is:
	// operator, learned or none.
	PerSecond float64 `json:"per_second"`
	Source    string  `json:"source"`
	// Operator is the operator's per_second and burst (0: not set).
	Operator      float64 `json:"operator_per_second,omitempty"`
	OperatorBurst int     `json:"operator_burst"`
	// Learned is the rate learned from the provider (0: none yet),
	// LearnedMax the provider's stated rate less the margin, LearnedFrom
	// what taught it.
	Learned     float64    `json:"learned_per_second,omitempty"`
	LearnedMax  float64    `json:"learned_max,omitempty"`
	LearnedFrom string     `json:"learned_from,omitempty"`
	LearnedAt   *time.Time `json:"learned_at,omitempty"`
	Paused      bool       `json:"paused"`
	// Where the search of a provider that states no limit stands (zero:
	// not searching). RefusedRate is the rate in force at its last 429 read
	// as the limit, AcceptedRate the highest held for a second without one
	// since: the search stays between them.
	RefusedRate  float64 `json:"refused_rate,omitempty"`
	AcceptedRate float64 `json:"accepted_rate,omitempty"`
	// TrialSince is set while a trial runs: lone 429s lowered the rate by
	// 5 % from TrialFrom to see whether they stop (the limit) or go on (a
	// provider refusing at random).
	TrialSince *time.Time `json:"trial_since,omitempty"`
	TrialFrom  float64    `json:"trial_from_per_second,omitempty"`
	// LoneIgnoredUntil is set while lone 429s are ignored: a trial found
	// they went on at a lower rate.
	LoneIgnoredUntil *time.Time `json:"lone_429s_ignored_until,omitempty"`
	// SharedSpentAt is set for 30 seconds after an accepted answer said a
	// stated limit's window was spent while the bucket sent below it:
	// another client uses the same account, and the rate rises a step at a
	// time.
	SharedSpentAt *time.Time `json:"shared_window_spent_at,omitempty"`
	// Concurrency is the requests the provider's account may have in flight,
	// learned from its 429s (Twilio's 20429; 0: none), which every live
	// sidecar on the bucket splits; ConcurrencyAt is when a 429 last set it
	// or a probe last raised it.
	Concurrency   int        `json:"learned_concurrency,omitempty"`
	ConcurrencyAt *time.Time `json:"learned_concurrency_at,omitempty"`
	// OperatorConcurrency is the operator's limit on requests in flight
	// (symphony.rate_limits.concurrency; 0: not set), which wins over the
	// learned one.
	OperatorConcurrency int `json:"operator_concurrency,omitempty"`
}

// RateLimits returns every bucket, by name.
func (s *Store) RateLimits(ctx context.Context) ([]RateLimit, error) {
	return ReadRateLimits(ctx, s.pool)
}

// Querier is what ReadRateLimits and ReadDepth read through: a pool or a connection.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ReadRateLimits returns every bucket, by name, read through q.
func ReadRateLimits(ctx context.Context, q Querier) ([]RateLimit, error) {
	rows, err := q.Query(ctx, queries.RateLimitsStatus)
	if err != nil {
		return nil, fmt.Errorf("error reading rate limits: %w", err)
	}
	var out []RateLimit
	var r RateLimit
	var rate, op, learned, max, refused, accepted, trialFrom *float64
	_, err = pgx.ForEachRow(rows, []any{&r.Bucket, &rate, &r.Source, &op, &r.OperatorBurst, &learned, &max,
		&r.LearnedFrom, &r.LearnedAt, &r.Paused, &refused, &accepted, &r.TrialSince, &trialFrom,
		&r.LoneIgnoredUntil, &r.SharedSpentAt, &r.Concurrency, &r.ConcurrencyAt, &r.OperatorConcurrency}, func() error {
		x := r
		x.PerSecond, x.Operator, x.Learned, x.LearnedMax = deref(rate), deref(op), deref(learned), deref(max)
		x.RefusedRate, x.AcceptedRate, x.TrialFrom = deref(refused), deref(accepted), deref(trialFrom)
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading rate limits: %w", err)
	}
	return out, nil
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}
