package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is everything the sidecar reads from its environment.
type Config struct {
	// DatabaseURL is a direct or session-mode connection (DATABASE_URL). LISTEN
	// does not work through a transaction pooler such as Supavisor's port 6543.
	DatabaseURL string

	// EmailProvider is log, resend, sendgrid or postmark (SYMPHONY_EMAIL_PROVIDER).
	EmailProvider string
	// SMSProvider is log or twilio (SYMPHONY_SMS_PROVIDER).
	SMSProvider string
	// Providers holds provider credentials and base-URL overrides.
	Providers Providers

	// HTTPAddr is where /healthz, /readyz, /metrics, /status and /outbox are
	// served (SYMPHONY_HTTP_ADDR, default :8080).
	HTTPAddr string

	// WorkerID names this sidecar in locked_by and symphony.workers
	// (SYMPHONY_WORKER_ID; default FLY_MACHINE_ID, else hostname-pid).
	WorkerID string

	// Queues maps each queue this sidecar serves to the most messages of it
	// that may run at once (SYMPHONY_QUEUES, "email=1000,sms=200,…"). Each
	// queue's concurrency adapts below this ceiling to how its provider
	// answers (docs/tuning.md); the defaults do not bind on a fast provider.
	Queues map[string]int
	// ClaimBatch caps how many messages one claim takes (SYMPHONY_CLAIM_BATCH,
	// default 500). Claims are as big as the free slots and prefetch allow.
	ClaimBatch int
	// Prefetch is how many claimed messages per queue may wait in the sidecar
	// for a free slot (SYMPHONY_PREFETCH). Unset or "auto" (-1, the default):
	// as many as the queue finishes in about 50 ms, at most ClaimBatch, so a
	// deep backlog is claimed in big batches while another sidecar still
	// finds work and a higher-priority message waits behind little. A number
	// fixes it; 0 claims never more than the free slots.
	Prefetch int
	// Lease is how long a claim is held before another sidecar may rescue it;
	// leases of running messages are extended while they run (SYMPHONY_LEASE).
	Lease time.Duration
	// PollInterval is the fallback poll when no notification arrives
	// (SYMPHONY_POLL_INTERVAL).
	PollInterval time.Duration
	// Wakeup is how the sidecar learns of new messages: notify (LISTEN/NOTIFY,
	// the default) or wal (a logical replication feed through a temporary slot,
	// for high insert rates; falls back to notify where not permitted)
	// (SYMPHONY_WAKEUP).
	Wakeup string
	// HandlerTimeout cuts off one attempt (SYMPHONY_HANDLER_TIMEOUT).
	HandlerTimeout time.Duration
	// ShutdownTimeout is how long a stop waits for in-flight work; outcomes then
	// get 5 more seconds to be written, so keep it 5s+ below Fly's kill_timeout
	// (SYMPHONY_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// RetryBase and RetryMax bound the exponential backoff between attempts
	// (SYMPHONY_RETRY_BASE, SYMPHONY_RETRY_MAX).
	RetryBase time.Duration
	RetryMax  time.Duration

	// LogFormat is json (default) or text; LogLevel is debug, info, warn or error
	// (SYMPHONY_LOG_FORMAT, SYMPHONY_LOG_LEVEL).
	LogFormat string
	LogLevel  string
	// OutboxSize is how many captured messages the log providers keep for the
	// outbox page (SYMPHONY_OUTBOX_SIZE).
	OutboxSize int
	// AttachmentMaxBytes bounds the attachments of one email, inline and from
	// Supabase Storage together (SYMPHONY_ATTACHMENT_MAX_BYTES, default 10 MiB,
	// within every supported provider's limit).
	AttachmentMaxBytes int
	// AttachmentMemoryBytes bounds the memory held by emails with attachments
	// at once, fetched files and request bodies together
	// (SYMPHONY_ATTACHMENT_MEMORY_BYTES). 0, the default: 60 % of the runtime's
	// soft memory limit, which memlimit sets from the cgroup (see membudget).
	AttachmentMemoryBytes int

	// DashboardToken turns the operator dashboard on and is the only way in
	// (SYMPHONY_DASHBOARD_TOKEN; a secret: never logged). Empty: no dashboard.
	DashboardToken string
	// DashboardAddr is where the dashboard listens, apart from HTTPAddr so that
	// exposing it publicly does not expose /metrics and /status
	// (SYMPHONY_DASHBOARD_ADDR, default :8081).
	DashboardAddr string
	// WebhookAddr is where the providers' delivery-status webhooks are served,
	// apart from HTTPAddr so that exposing them does not expose /metrics and
	// /status (SYMPHONY_WEBHOOK_ADDR, default :8082). The listener starts only
	// when a provider's webhook credential is set (see WebhooksEnabled).
	WebhookAddr string
	// PublicURL is the webhook listener's root as providers reach it
	// (SYMPHONY_PUBLIC_URL, e.g. https://my-sidecar.fly.dev): Twilio signs the
	// URL it calls, which the sidecar behind a proxy cannot see.
	PublicURL string
	// StatsInterval is how often the queue-depth metrics are refreshed from
	// the database (SYMPHONY_STATS_INTERVAL, default 5s).
	StatsInterval time.Duration
	// SchedulerInterval is how often this sidecar fires due rows of
	// symphony.schedules (SYMPHONY_SCHEDULER_INTERVAL, default 5s); pg_cron's
	// symphony-scheduler job does the same where pg_cron exists, and a due
	// time fires once however many run it.
	SchedulerInterval time.Duration
}

// Providers holds the provider credentials, read from the providers' usual
// variable names. They are secrets: never log or store them.
type Providers struct {
	ResendAPIKey        string // RESEND_API_KEY
	ResendURL           string // SYMPHONY_RESEND_URL
	SendGridAPIKey      string // SENDGRID_API_KEY
	SendGridURL         string // SYMPHONY_SENDGRID_URL
	PostmarkServerToken string // POSTMARK_SERVER_TOKEN
	PostmarkURL         string // SYMPHONY_POSTMARK_URL
	TwilioAccountSID    string // TWILIO_ACCOUNT_SID
	TwilioAuthToken     string // TWILIO_AUTH_TOKEN
	TwilioFrom          string // TWILIO_FROM
	TwilioMessagingSID  string // TWILIO_MESSAGING_SERVICE_SID
	TwilioStatusURL     string // TWILIO_STATUS_CALLBACK
	TwilioURL           string // SYMPHONY_TWILIO_URL

	// Delivery webhooks (sidecar/providerevents); each turns its route on. Twilio's
	// are on with TWILIO_AUTH_TOKEN and SYMPHONY_PUBLIC_URL.
	ResendWebhookSecret      string // RESEND_WEBHOOK_SECRET: whsec_…
	SendGridWebhookPublicKey string // SENDGRID_WEBHOOK_PUBLIC_KEY: base64 DER
	PostmarkWebhookUser      string // POSTMARK_WEBHOOK_USER
	PostmarkWebhookPassword  string // POSTMARK_WEBHOOK_PASSWORD

	// Kinds handled outside the sidecar (symphony.kinds.handler).
	SupabaseURL            string // SUPABASE_URL: Edge Functions at <url>/functions/v1/<name>
	SupabaseServiceRoleKey string // SUPABASE_SERVICE_ROLE_KEY
	WebhookSecret          string // SYMPHONY_WEBHOOK_SECRET: signs webhook deliveries
}

// AutoPrefetch is Config.Prefetch when the prefetch follows the queue's pace.
const AutoPrefetch = -1

// Default returns the configuration used when a variable is unset.
func Default() Config {
	return Config{
		EmailProvider:      "log",
		SMSProvider:        "log",
		HTTPAddr:           ":8080",
		Queues:             map[string]int{"email": 1000, "sms": 200, "campaign": 4, "drip": 50, "default": 100},
		ClaimBatch:         500,
		Prefetch:           AutoPrefetch,
		Lease:              60 * time.Second,
		PollInterval:       time.Second,
		Wakeup:             "notify",
		HandlerTimeout:     30 * time.Second,
		ShutdownTimeout:    20 * time.Second,
		RetryBase:          2 * time.Second,
		RetryMax:           time.Hour,
		LogFormat:          "json",
		LogLevel:           "info",
		OutboxSize:         1000,
		AttachmentMaxBytes: 10 << 20,
		DashboardAddr:      ":8081",
		WebhookAddr:        ":8082",
		StatsInterval:      5 * time.Second,
		SchedulerInterval:  5 * time.Second,
	}
}

// FromEnv reads the configuration from getenv (os.Getenv in production) and
// validates it.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	var errs []error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q is not a positive duration such as 30s or 5m", name, v))
				return
			}
			*dst = d
		}
	}
	num := func(name string, dst *int) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q is not a positive whole number", name, v))
				return
			}
			*dst = n
		}
	}

	str("DATABASE_URL", &c.DatabaseURL)
	str("SYMPHONY_EMAIL_PROVIDER", &c.EmailProvider)
	str("SYMPHONY_SMS_PROVIDER", &c.SMSProvider)
	str("SYMPHONY_HTTP_ADDR", &c.HTTPAddr)
	str("FLY_MACHINE_ID", &c.WorkerID)
	str("SYMPHONY_WORKER_ID", &c.WorkerID)
	if v := strings.TrimSpace(getenv("SYMPHONY_QUEUES")); v != "" {
		q, err := ParseQueues(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SYMPHONY_QUEUES: %w", err))
		} else {
			c.Queues = q
		}
	}
	num("SYMPHONY_CLAIM_BATCH", &c.ClaimBatch)
	if v := strings.TrimSpace(getenv("SYMPHONY_PREFETCH")); v == "auto" {
		c.Prefetch = AutoPrefetch
	} else if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("SYMPHONY_PREFETCH=%q is not auto or a whole number of 0 or more", v))
		} else {
			c.Prefetch = n
		}
	}
	dur("SYMPHONY_LEASE", &c.Lease)
	dur("SYMPHONY_POLL_INTERVAL", &c.PollInterval)
	str("SYMPHONY_WAKEUP", &c.Wakeup)
	dur("SYMPHONY_HANDLER_TIMEOUT", &c.HandlerTimeout)
	dur("SYMPHONY_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	dur("SYMPHONY_RETRY_BASE", &c.RetryBase)
	dur("SYMPHONY_RETRY_MAX", &c.RetryMax)
	str("SYMPHONY_LOG_FORMAT", &c.LogFormat)
	str("SYMPHONY_LOG_LEVEL", &c.LogLevel)
	num("SYMPHONY_OUTBOX_SIZE", &c.OutboxSize)
	num("SYMPHONY_ATTACHMENT_MAX_BYTES", &c.AttachmentMaxBytes)
	num("SYMPHONY_ATTACHMENT_MEMORY_BYTES", &c.AttachmentMemoryBytes)
	str("SYMPHONY_DASHBOARD_TOKEN", &c.DashboardToken)
	str("SYMPHONY_DASHBOARD_ADDR", &c.DashboardAddr)
	dur("SYMPHONY_STATS_INTERVAL", &c.StatsInterval)
	dur("SYMPHONY_SCHEDULER_INTERVAL", &c.SchedulerInterval)

	p := &c.Providers
	str("RESEND_API_KEY", &p.ResendAPIKey)
	str("SYMPHONY_RESEND_URL", &p.ResendURL)
	str("SENDGRID_API_KEY", &p.SendGridAPIKey)
	str("SYMPHONY_SENDGRID_URL", &p.SendGridURL)
	str("POSTMARK_SERVER_TOKEN", &p.PostmarkServerToken)
	str("SYMPHONY_POSTMARK_URL", &p.PostmarkURL)
	str("TWILIO_ACCOUNT_SID", &p.TwilioAccountSID)
	str("TWILIO_AUTH_TOKEN", &p.TwilioAuthToken)
	str("TWILIO_FROM", &p.TwilioFrom)
	str("TWILIO_MESSAGING_SERVICE_SID", &p.TwilioMessagingSID)
	str("TWILIO_STATUS_CALLBACK", &p.TwilioStatusURL)
	str("SYMPHONY_TWILIO_URL", &p.TwilioURL)
	str("SUPABASE_URL", &p.SupabaseURL)
	str("SUPABASE_SERVICE_ROLE_KEY", &p.SupabaseServiceRoleKey)
	str("SYMPHONY_WEBHOOK_SECRET", &p.WebhookSecret)
	str("SYMPHONY_WEBHOOK_ADDR", &c.WebhookAddr)
	str("SYMPHONY_PUBLIC_URL", &c.PublicURL)
	str("RESEND_WEBHOOK_SECRET", &p.ResendWebhookSecret)
	str("SENDGRID_WEBHOOK_PUBLIC_KEY", &p.SendGridWebhookPublicKey)
	str("POSTMARK_WEBHOOK_USER", &p.PostmarkWebhookUser)
	str("POSTMARK_WEBHOOK_PASSWORD", &p.PostmarkWebhookPassword)
	c.webhookDefaults()

	if c.WorkerID == "" {
		host, _ := os.Hostname()
		c.WorkerID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, c.Validate()
}

var queueName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ParseQueues parses "email=16,sms=8" into a queue → concurrency map.
func ParseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, n, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !queueName.MatchString(name) {
			return nil, fmt.Errorf("%q is not a queue name (lowercase letters, digits, _)", name)
		}
		c := 1
		if ok {
			v, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || v < 1 || v > 10000 {
				return nil, fmt.Errorf("concurrency of queue %s must be 1-10000, got %q", name, n)
			}
			c = v
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("queue %s is named twice", name)
		}
		out[name] = c
	}
	if len(out) == 0 {
		return nil, errors.New("names no queue; use e.g. email=16,sms=8")
	}
	return out, nil
}

// QueueNames returns the served queues in a stable order.
func (c Config) QueueNames() []string {
	names := make([]string, 0, len(c.Queues))
	for q := range c.Queues {
		names = append(names, q)
	}
	sort.Strings(names)
	return names
}

// Validate checks the configuration and names every variable that is wrong.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (a direct or session-mode Postgres connection string)"))
	} else if strings.Contains(c.DatabaseURL, ":6543") {
		errs = append(errs, errors.New("DATABASE_URL points at port 6543, Supabase's transaction pooler, where LISTEN does not work; use the direct connection (port 5432) or the session pooler"))
	}
	p := c.Providers
	switch c.EmailProvider {
	case "log":
	case "resend":
		if p.ResendAPIKey == "" {
			errs = append(errs, errors.New("RESEND_API_KEY is required when SYMPHONY_EMAIL_PROVIDER=resend"))
		}
	case "sendgrid":
		if p.SendGridAPIKey == "" {
			errs = append(errs, errors.New("SENDGRID_API_KEY is required when SYMPHONY_EMAIL_PROVIDER=sendgrid"))
		}
	case "postmark":
		if p.PostmarkServerToken == "" {
			errs = append(errs, errors.New("POSTMARK_SERVER_TOKEN is required when SYMPHONY_EMAIL_PROVIDER=postmark"))
		}
	default:
		errs = append(errs, fmt.Errorf("SYMPHONY_EMAIL_PROVIDER=%q is not one of log, resend, sendgrid, postmark", c.EmailProvider))
	}
	switch c.SMSProvider {
	case "log":
	case "twilio":
		if p.TwilioAccountSID == "" {
			errs = append(errs, errors.New("TWILIO_ACCOUNT_SID is required when SYMPHONY_SMS_PROVIDER=twilio"))
		}
		if p.TwilioAuthToken == "" {
			errs = append(errs, errors.New("TWILIO_AUTH_TOKEN is required when SYMPHONY_SMS_PROVIDER=twilio"))
		}
	default:
		errs = append(errs, fmt.Errorf("SYMPHONY_SMS_PROVIDER=%q is not one of log, twilio", c.SMSProvider))
	}
	switch c.Wakeup {
	case "notify", "wal":
	default:
		errs = append(errs, fmt.Errorf("SYMPHONY_WAKEUP=%q is not notify or wal", c.Wakeup))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("SYMPHONY_LOG_FORMAT=%q is not json or text", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("SYMPHONY_LOG_LEVEL=%q is not debug, info, warn or error", c.LogLevel))
	}
	if c.HandlerTimeout >= c.Lease {
		errs = append(errs, fmt.Errorf("SYMPHONY_HANDLER_TIMEOUT (%s) must be shorter than SYMPHONY_LEASE (%s)", c.HandlerTimeout, c.Lease))
	}
	if c.ClaimBatch > 1000 {
		errs = append(errs, fmt.Errorf("SYMPHONY_CLAIM_BATCH=%d is above 1000", c.ClaimBatch))
	}
	if c.Prefetch > 10000 {
		errs = append(errs, fmt.Errorf("SYMPHONY_PREFETCH=%d is above 10000", c.Prefetch))
	}
	if c.RetryBase > c.RetryMax {
		errs = append(errs, fmt.Errorf("SYMPHONY_RETRY_BASE (%s) must not exceed SYMPHONY_RETRY_MAX (%s)", c.RetryBase, c.RetryMax))
	}
	if len(c.Queues) == 0 {
		errs = append(errs, errors.New("SYMPHONY_QUEUES names no queue"))
	}
	if n := len(c.DashboardToken); n > 0 && n < MinDashboardToken {
		// The length only: the value is a secret.
		errs = append(errs, fmt.Errorf("SYMPHONY_DASHBOARD_TOKEN is %d characters; use at least %d random ones (e.g. openssl rand -hex 32)", n, MinDashboardToken))
	}
	if c.DashboardToken != "" && c.DashboardAddr == c.HTTPAddr && !strings.HasSuffix(c.HTTPAddr, ":0") {
		errs = append(errs, fmt.Errorf("SYMPHONY_DASHBOARD_ADDR must differ from SYMPHONY_HTTP_ADDR (both %s)", c.HTTPAddr))
	}
	errs = append(errs, c.validateWebhooks()...)
	return errors.Join(errs...)
}

// MinDashboardToken is the shortest SYMPHONY_DASHBOARD_TOKEN accepted: the
// dashboard may face the internet, so the token must not be guessable.
const MinDashboardToken = 24
