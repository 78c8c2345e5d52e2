package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MinPostmarkWebhookPassword is the shortest POSTMARK_WEBHOOK_PASSWORD
// accepted: the webhook port faces the internet, and Postmark signs nothing.
const MinPostmarkWebhookPassword = 16

// TwilioStatusPath is where Twilio's status callbacks are served on the
// webhook listener (sidecar/providerevents).
const TwilioStatusPath = "/webhooks/twilio/status"

// WebhooksEnabled reports whether any provider's delivery webhook is
// configured, which starts the webhook listener.
func (c Config) WebhooksEnabled() bool {
	p := c.Providers
	return p.ResendWebhookSecret != "" || p.SendGridWebhookPublicKey != "" || p.PostmarkWebhookUser != "" ||
		p.PostmarkWebhookPassword != "" || (p.TwilioAuthToken != "" && c.PublicURL != "")
}

// webhookDefaults points Twilio's status callbacks at the sidecar when its
// public URL is known and no other callback is set.
func (c *Config) webhookDefaults() {
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	p := &c.Providers
	if p.TwilioStatusURL == "" && p.TwilioAuthToken != "" && c.PublicURL != "" {
		p.TwilioStatusURL = c.PublicURL + TwilioStatusPath
	}
}

// validateWebhooks names every webhook variable that is wrong, never a value.
func (c Config) validateWebhooks() []error {
	var errs []error
	p := c.Providers
	if s := p.ResendWebhookSecret; s != "" {
		if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_")); err != nil || len(key) < 16 {
			errs = append(errs, errors.New("RESEND_WEBHOOK_SECRET is not a Resend signing secret (whsec_ followed by base64, from the webhook's page)"))
		}
	}
	if s := p.SendGridWebhookPublicKey; s != "" && !ecdsaP256(s) {
		errs = append(errs, errors.New("SENDGRID_WEBHOOK_PUBLIC_KEY is not the Signed Event Webhook's verification key (base64 DER ECDSA P-256 public key, from Mail Settings)"))
	}
	if (p.PostmarkWebhookUser == "") != (p.PostmarkWebhookPassword == "") {
		errs = append(errs, errors.New("POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD must be set together"))
	} else if n := len(p.PostmarkWebhookPassword); n > 0 && n < MinPostmarkWebhookPassword {
		errs = append(errs, fmt.Errorf("POSTMARK_WEBHOOK_PASSWORD is %d characters; use at least %d random ones (e.g. openssl rand -hex 24)", n, MinPostmarkWebhookPassword))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("SYMPHONY_PUBLIC_URL=%q must be the absolute http(s) URL providers reach the sidecar's webhooks at, without query, e.g. https://my-sidecar.fly.dev", c.PublicURL))
		}
	}
	if c.WebhooksEnabled() && !strings.HasSuffix(c.WebhookAddr, ":0") {
		if c.WebhookAddr == c.HTTPAddr {
			errs = append(errs, fmt.Errorf("SYMPHONY_WEBHOOK_ADDR must differ from SYMPHONY_HTTP_ADDR (both %s): the webhook port is public, /metrics and /status are not", c.HTTPAddr))
		}
		if c.DashboardToken != "" && c.WebhookAddr == c.DashboardAddr {
			errs = append(errs, fmt.Errorf("SYMPHONY_WEBHOOK_ADDR must differ from SYMPHONY_DASHBOARD_ADDR (both %s)", c.WebhookAddr))
		}
	}
	return errs
}

// ecdsaP256 reports whether s is an ECDSA P-256 public key in base64 DER or PEM.
func ecdsaP256(s string) bool {
	s = strings.TrimSpace(s)
	der, err := base64.StdEncoding.DecodeString(s)
	if b, _ := pem.Decode([]byte(s)); b != nil {
		der, err = b.Bytes, nil
	}
	if err != nil {
		return false
	}
	k, err := x509.ParsePKIXPublicKey(der)
	pub, ok := k.(*ecdsa.PublicKey)
	return err == nil && ok && pub.Curve == elliptic.P256()
}
