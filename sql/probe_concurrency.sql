-- This sidecar's share of the learned concurrency of bucket $1 holds a queue
-- back: raise it a step if no 429 set it lately (at most once a second for
-- every sidecar), and return the concurrency learned (null: none).
select symphony.probe_concurrency($1)
