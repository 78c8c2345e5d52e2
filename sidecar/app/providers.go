package app

import (
	"fmt"
	"net/http"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend"
	"github.com/symphonymessenger/symphony/sidecar/provider/sendgrid"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio"
)

// realProviders builds the non-log providers the configuration names, over one
// shared HTTP client. A nil sender means that channel uses the log provider.
func realProviders(cfg config.Config, hc *http.Client) (provider.EmailSender, provider.SMSSender, error) {
	p := cfg.Providers
	// One attempt must end before the worker's deadline for it does.
	timeout := cfg.HandlerTimeout - cfg.HandlerTimeout/10

	var email provider.EmailSender
	var err error
	switch cfg.EmailProvider {
	case "resend":
		email, err = resend.New(resend.Config{APIKey: p.ResendAPIKey, BaseURL: p.ResendURL, HTTPClient: hc, Timeout: timeout})
	case "sendgrid":
		email, err = sendgrid.New(sendgrid.Config{APIKey: p.SendGridAPIKey, BaseURL: p.SendGridURL, HTTPClient: hc, Timeout: timeout})
	case "postmark":
		email, err = postmark.New(postmark.Config{ServerToken: p.PostmarkServerToken, BaseURL: p.PostmarkURL, HTTPClient: hc, Timeout: timeout})
	case "log":
	default:
		err = fmt.Errorf("SYMPHONY_EMAIL_PROVIDER=%q is not a known provider", cfg.EmailProvider)
	}
	if err != nil {
		return nil, nil, err
	}

	var sms provider.SMSSender
	switch cfg.SMSProvider {
	case "twilio":
		sms, err = twilio.New(twilio.Config{
			AccountSID: p.TwilioAccountSID, AuthToken: p.TwilioAuthToken, From: p.TwilioFrom,
			MessagingServiceSID: p.TwilioMessagingSID, StatusCallback: p.TwilioStatusURL,
			BaseURL: p.TwilioURL, HTTPClient: hc, Timeout: timeout,
		})
	case "log":
	default:
		err = fmt.Errorf("SYMPHONY_SMS_PROVIDER=%q is not a known provider", cfg.SMSProvider)
	}
	if err != nil {
		return nil, nil, err
	}
	return email, sms, nil
}
