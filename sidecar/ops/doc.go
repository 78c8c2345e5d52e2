// Package ops reads what an operator looks at (the symphony.queue_stats,
// recent_failures, worker_status and flag_status views) and performs what an
// operator does: retry or remove dead messages, change flags under their own
// name, pause, resume or cancel campaigns, dispatch a test message, and feed
// the queue-depth and delivery-rate metrics. It also reads the history the
// dashboard charts, from the rollups symphony.roll_up() keeps. The CLI
// (package cli), the dashboard and /status all go through it, so each
// question has one answer.
package ops
