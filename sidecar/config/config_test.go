package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv_DefaultsAreLocalAndSafe(t *testing.T) {
	t.Parallel()
	c, err := config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://localhost/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.EmailProvider != "log" || c.SMSProvider != "log" || c.HTTPAddr != ":8080" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.WorkerID == "" || c.Queues["email"] == 0 || c.HandlerTimeout >= c.Lease {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFromEnv_ErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"missing database", map[string]string{}, []string{"DATABASE_URL is required"}},
		{"transaction pooler", map[string]string{"DATABASE_URL": "postgres://x.pooler.supabase.com:6543/postgres"}, []string{"DATABASE_URL", "6543"}},
		{"unknown email provider", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_EMAIL_PROVIDER": "mailgun"}, []string{"SYMPHONY_EMAIL_PROVIDER=\"mailgun\""}},
		{"resend without key", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_EMAIL_PROVIDER": "resend"}, []string{"RESEND_API_KEY is required"}},
		{"sendgrid without key", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_EMAIL_PROVIDER": "sendgrid"}, []string{"SENDGRID_API_KEY is required"}},
		{"postmark without token", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_EMAIL_PROVIDER": "postmark"}, []string{"POSTMARK_SERVER_TOKEN is required"}},
		{"twilio without credentials", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_SMS_PROVIDER": "twilio"}, []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}},
		{"bad duration", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_LEASE": "soon"}, []string{"SYMPHONY_LEASE=\"soon\""}},
		{"bad number", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_CLAIM_BATCH": "-3"}, []string{"SYMPHONY_CLAIM_BATCH"}},
		{"bad queues", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_QUEUES": "Email=x"}, []string{"SYMPHONY_QUEUES"}},
		{"negative prefetch", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_PREFETCH": "-1"}, []string{"SYMPHONY_PREFETCH=\"-1\""}},
		{"huge prefetch", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_PREFETCH": "20000"}, []string{"SYMPHONY_PREFETCH=20000"}},
		{"timeout above lease", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_LEASE": "10s", "SYMPHONY_HANDLER_TIMEOUT": "20s"}, []string{"SYMPHONY_HANDLER_TIMEOUT", "SYMPHONY_LEASE"}},
		{"bad log format", map[string]string{"DATABASE_URL": "postgres://h/d", "SYMPHONY_LOG_FORMAT": "xml"}, []string{"SYMPHONY_LOG_FORMAT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.FromEnv(env(tc.env))
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFromEnv_SecretsNotInErrors(t *testing.T) {
	t.Parallel()
	_, err := config.FromEnv(env(map[string]string{
		"RESEND_API_KEY": "re_supersecret123", "SYMPHONY_EMAIL_PROVIDER": "resend", "SYMPHONY_LEASE": "nope",
	}))
	if err == nil || strings.Contains(err.Error(), "re_supersecret123") {
		t.Fatalf("error %v", err)
	}
}

func TestParseQueues(t *testing.T) {
	t.Parallel()
	q, err := config.ParseQueues("email=16, sms=4,default")
	if err != nil {
		t.Fatal(err)
	}
	if q["email"] != 16 || q["sms"] != 4 || q["default"] != 1 || len(q) != 3 {
		t.Fatalf("parsed %v", q)
	}
	for _, bad := range []string{"", "email=0", "email=abc", "bad name=1", ",", "email=1,email=16"} {
		if _, err := config.ParseQueues(bad); err == nil {
			t.Errorf("ParseQueues(%q) accepted", bad)
		}
	}
}

func TestFromEnv_Overrides(t *testing.T) {
	t.Parallel()
	c, err := config.FromEnv(env(map[string]string{
		"DATABASE_URL": "postgres://h/d", "SYMPHONY_QUEUES": "email=3", "SYMPHONY_LEASE": "2m",
		"FLY_MACHINE_ID": "fly-1", "SYMPHONY_LOG_FORMAT": "text", "SYMPHONY_PREFETCH": "500",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkerID != "fly-1" || c.Lease != 2*time.Minute || len(c.Queues) != 1 || c.LogFormat != "text" || c.Prefetch != 500 {
		t.Fatalf("overrides: %+v", c)
	}
}

func TestConfig_DefaultsAreCeilingsAndPrefetchIsAuto(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:5432/db"}
	c, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefetch != config.AutoPrefetch || c.ClaimBatch != 500 || c.Queues["email"] != 1000 {
		t.Fatalf("defaults: prefetch %d, claim batch %d, email ceiling %d", c.Prefetch, c.ClaimBatch, c.Queues["email"])
	}
	for v, want := range map[string]int{"auto": config.AutoPrefetch, "0": 0, "250": 250} {
		env["SYMPHONY_PREFETCH"] = v
		if c, err := config.FromEnv(func(k string) string { return env[k] }); err != nil || c.Prefetch != want {
			t.Fatalf("SYMPHONY_PREFETCH=%s: %d, %v; want %d", v, c.Prefetch, err, want)
		}
	}
	env["SYMPHONY_PREFETCH"] = "-1"
	if _, err := config.FromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SYMPHONY_PREFETCH") {
		t.Fatalf("SYMPHONY_PREFETCH=-1 gave %v", err)
	}
}
