package config_test

import (
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/providerevents/eventsfake"
)

func TestFromEnv_Webhooks(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://h/d"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	c, err := config.FromEnv(env(base))
	if err != nil || c.WebhooksEnabled() || c.WebhookAddr != ":8082" {
		t.Fatalf("defaults: webhooks off, on :8082; got %v %v %q", err, c.WebhooksEnabled(), c.WebhookAddr)
	}

	_, sendgridKey := eventsfake.NewSendGridKey()
	good := with("RESEND_WEBHOOK_SECRET", eventsfake.NewResendSecret(), "SENDGRID_WEBHOOK_PUBLIC_KEY", sendgridKey,
		"POSTMARK_WEBHOOK_USER", "pm", "POSTMARK_WEBHOOK_PASSWORD", strings.Repeat("p", 20),
		"TWILIO_AUTH_TOKEN", "tok", "SYMPHONY_PUBLIC_URL", "https://sidecar.example.com/")
	c, err = config.FromEnv(env(good))
	if err != nil || !c.WebhooksEnabled() {
		t.Fatalf("all webhooks: %v", err)
	}
	if c.PublicURL != "https://sidecar.example.com" || c.Providers.TwilioStatusURL != "https://sidecar.example.com/webhooks/twilio/status" {
		t.Fatalf("Twilio's status callback defaults to the public URL: %q %q", c.PublicURL, c.Providers.TwilioStatusURL)
	}
	good["TWILIO_STATUS_CALLBACK"] = "https://elsewhere.example.com/cb"
	if c, _ = config.FromEnv(env(good)); c.Providers.TwilioStatusURL != "https://elsewhere.example.com/cb" {
		t.Fatalf("an explicit TWILIO_STATUS_CALLBACK is kept: %q", c.Providers.TwilioStatusURL)
	}

	bad := []struct {
		env      map[string]string
		want     string
		secretIs string
	}{
		{with("RESEND_WEBHOOK_SECRET", "whsec_%%%secret%%%"), "RESEND_WEBHOOK_SECRET is not a Resend signing secret", "%%%secret%%%"},
		{with("SENDGRID_WEBHOOK_PUBLIC_KEY", "c2VjcmV0LWtleQ=="), "SENDGRID_WEBHOOK_PUBLIC_KEY is not", "c2VjcmV0LWtleQ=="},
		{with("POSTMARK_WEBHOOK_USER", "pm"), "must be set together", ""},
		{with("POSTMARK_WEBHOOK_USER", "pm", "POSTMARK_WEBHOOK_PASSWORD", "hunter2"), "POSTMARK_WEBHOOK_PASSWORD is 7 characters", "hunter2"},
		{with("SYMPHONY_PUBLIC_URL", "sidecar.example.com"), "SYMPHONY_PUBLIC_URL", ""},
		{with("RESEND_WEBHOOK_SECRET", eventsfake.NewResendSecret(), "SYMPHONY_WEBHOOK_ADDR", ":8080"), "SYMPHONY_WEBHOOK_ADDR must differ from SYMPHONY_HTTP_ADDR", ""},
		{with("RESEND_WEBHOOK_SECRET", eventsfake.NewResendSecret(), "SYMPHONY_DASHBOARD_TOKEN", strings.Repeat("d", 32),
			"SYMPHONY_WEBHOOK_ADDR", ":8081"), "SYMPHONY_WEBHOOK_ADDR must differ from SYMPHONY_DASHBOARD_ADDR", ""},
	}
	for _, b := range bad {
		_, err := config.FromEnv(env(b.env))
		if err == nil || !strings.Contains(err.Error(), b.want) || (b.secretIs != "" && strings.Contains(err.Error(), b.secretIs)) {
			t.Errorf("%v: got %v; want an error containing %q and never the secret", b.env, err, b.want)
		}
	}
}
