package queries

// Rate limits learned from the providers' answers (sidecar/worker, learn.go).
var (
	LearnRateLimit   = mustRead("learn_rate_limit.sql")
	RateRefused      = mustRead("rate_refused.sql")
	RateStray        = mustRead("rate_stray.sql")
	RateSpent        = mustRead("rate_spent.sql")
	RateConcurrency  = mustRead("rate_concurrency.sql")
	ProbeConcurrency = mustRead("probe_concurrency.sql")
	ProbeRateLimit   = mustRead("probe_rate_limit.sql")
	RateLimitsStatus = mustRead("rate_limits_status.sql")
)
