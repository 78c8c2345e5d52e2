package queries

import (
	"embed"
	"regexp"
	"strings"
)

//go:embed *.sql
var files embed.FS

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("queries: missing embedded file " + name) // caught by every test run
	}
	return strings.TrimSpace(string(b))
}

// A line "-- NAME.sql here" in a file stands for the text of NAME.sql: the
// claims share the rows they choose (claim_rows.sql) and what they do with
// them (claimed.sql); the suppression checks share the rule they apply
// (suppressed_by.sql).
var includeLine = regexp.MustCompile(`(?m)^-- ([a-z_]+\.sql) here$`)

// statement is the statement of file name, what it includes put in.
func statement(name string) string {
	return includeLine.ReplaceAllStringFunc(mustRead(name), func(line string) string {
		return statement(includeLine.FindStringSubmatch(line)[1])
	})
}

// The statements, by file name.
var (
	Claim = statement("claim.sql")
	// ClaimLimited is Claim within a rate-limit bucket's tokens.
	ClaimLimited = statement("claim_limited.sql")
	Complete     = mustRead("complete.sql")
	// CompleteSucceeded is Complete for a batch of plain successes.
	CompleteSucceeded = mustRead("complete_succeeded.sql")
	ExtendLeases      = mustRead("extend_leases.sql")
	// RecordBatch records a provider batch request before its first call.
	RecordBatch = mustRead("batch_record.sql")
	// UnfinishedBatches, RepeatBatch and FinishBatch follow a batch to its outcome.
	UnfinishedBatches = mustRead("batch_unfinished.sql")
	RepeatBatch       = mustRead("batch_repeat.sql")
	FinishBatch       = mustRead("batch_finish.sql")
	// ClaimIDs claims named members of a batch being repeated.
	ClaimIDs     = statement("claim_ids.sql")
	Release      = mustRead("release.sql")
	Rescue       = mustRead("rescue.sql")
	Heartbeat    = mustRead("heartbeat.sql")
	SyncListen   = mustRead("sync_listening.sql")
	WorkerStop   = mustRead("worker_stop.sql")
	QueueDepth   = mustRead("queue_depth.sql")
	MasterFlag   = mustRead("master_flag.sql")
	Installation = mustRead("installation.sql")
	ListenerOn   = mustRead("listener_on.sql")
	ListenerOff  = mustRead("listener_off.sql")
	RemoteKinds  = mustRead("remote_kinds.sql")
	QueueLimits  = mustRead("queue_limits.sql")
	TakeTokens   = mustRead("take_tokens.sql")
	GiveTokens   = mustRead("give_tokens.sql")
	Throttle     = mustRead("throttle.sql")
)

// All returns every statement by file name, for tests that check them against
// the schema: each file with what it includes put in. A file that others
// include is there as part of them (claimed.sql and suppressed_by.sql are no
// statements alone).
func All() map[string]string {
	entries, _ := files.ReadDir(".")
	included := map[string]bool{}
	for _, e := range entries {
		for _, m := range includeLine.FindAllStringSubmatch(mustRead(e.Name()), -1) {
			included[m[1]] = true
		}
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if !included[e.Name()] {
			out[e.Name()] = statement(e.Name())
		}
	}
	return out
}
