package config

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// FuzzParseQueues: any SYMPHONY_QUEUES value either parses to queues with
// valid names and concurrency 1-10000, which print and parse back to the same
// map, or returns an error; it never panics.
func FuzzParseQueues(f *testing.F) {
	for _, s := range []string{"email=16,sms=8", "email", " a = 1 , ,b=2", "=3", "email=0", "Email=1", "x=99999999999999999999", "a=1,a=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQueues(s)
		if err != nil {
			if q != nil {
				t.Fatalf("ParseQueues(%q) returned queues with an error", s)
			}
			return
		}
		if len(q) == 0 {
			t.Fatalf("ParseQueues(%q) returned no queue and no error", s)
		}
		parts := make([]string, 0, len(q))
		for name, n := range q {
			if !queueName.MatchString(name) || n < 1 || n > 10000 {
				t.Fatalf("ParseQueues(%q) accepted %q=%d", s, name, n)
			}
			parts = append(parts, fmt.Sprintf("%s=%d", name, n))
		}
		sort.Strings(parts)
		again, err := ParseQueues(strings.Join(parts, ","))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(q) {
			t.Fatalf("round trip of %q: %v %v, want %v", s, again, err, q)
		}
	})
}

// fuzzedVars are the variables FromEnv parses rather than copies.
var fuzzedVars = []string{
	"DATABASE_URL", "SYMPHONY_EMAIL_PROVIDER", "SYMPHONY_SMS_PROVIDER", "SYMPHONY_QUEUES",
	"SYMPHONY_CLAIM_BATCH", "SYMPHONY_LEASE", "SYMPHONY_POLL_INTERVAL", "SYMPHONY_HANDLER_TIMEOUT",
	"SYMPHONY_SHUTDOWN_TIMEOUT", "SYMPHONY_RETRY_BASE", "SYMPHONY_RETRY_MAX", "SYMPHONY_LOG_FORMAT",
	"SYMPHONY_LOG_LEVEL", "SYMPHONY_OUTBOX_SIZE",
}

// FuzzFromEnv: whatever value one variable holds, FromEnv never panics, and
// when it refuses the configuration the error names that variable: bad input
// gets an error that says where it is.
func FuzzFromEnv(f *testing.F) {
	for i, v := range []string{"", "0", "-1s", "1ns", "email=1", "resend", "postgres://x:6543/db", "99999999999999999999", "json", "1h"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := fuzzedVars[int(which)%len(fuzzedVars)]
		env := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres", name: value}
		_, err := FromEnv(func(k string) string { return env[k] })
		if err != nil && !strings.Contains(err.Error(), name) {
			t.Fatalf("%s=%q: error does not name the variable: %v", name, value, err)
		}
	})
}
