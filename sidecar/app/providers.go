package app

import (
	"fmt"
	"log/slog"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// emailProvider builds the real email provider named by the configuration.
func emailProvider(cfg config.Config, log *slog.Logger) (provider.EmailSender, error) {
	return nil, fmt.Errorf("SYMPHONY_EMAIL_PROVIDER=%s: provider not wired yet", cfg.EmailProvider)
}

// smsProvider builds the real SMS provider named by the configuration.
func smsProvider(cfg config.Config, log *slog.Logger) (provider.SMSSender, error) {
	return nil, fmt.Errorf("SYMPHONY_SMS_PROVIDER=%s: provider not wired yet", cfg.SMSProvider)
}
