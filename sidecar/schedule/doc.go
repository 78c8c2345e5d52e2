// Package schedule fires the recurring dispatches defined as rows of
// symphony.schedules. Every sidecar runs a Runner; pg_cron's
// symphony-scheduler job runs the same SQL function where pg_cron exists. The
// function locks each due row (SKIP LOCKED), dispatches it with a dedupe key
// naming its due time and moves it on, all in one transaction, so a due time
// fires once however many sidecars and cron jobs call it.
package schedule
