package sendgrid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// Name is the provider name in receipts, errors and SYMPHONY_EMAIL_PROVIDER.
const Name = "sendgrid"

// DefaultBaseURL is SendGrid's global API host.
const DefaultBaseURL = "https://api.sendgrid.com"

// Config configures a Client.
type Config struct {
	// APIKey is the SendGrid API key (SENDGRID_API_KEY), sent as a Bearer token.
	APIKey string
	// BaseURL overrides DefaultBaseURL (SYMPHONY_SENDGRID_URL), e.g.
	// https://api.eu.sendgrid.com for EU subusers, or a fake in tests.
	BaseURL string
	// HTTPClient is the shared client from httpx.New. Nil builds one.
	HTTPClient *http.Client
	// Timeout bounds one send, in-process retries included.
	// Zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// Logger is handed to the client built when HTTPClient is nil.
	Logger *slog.Logger
}

// Client sends email through SendGrid. Safe for concurrent use.
type Client struct {
	http     *http.Client
	endpoint string
	apiKey   string
	timeout  time.Duration
}

var _ provider.EmailSender = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("sendgrid: Config.APIKey is required (SENDGRID_API_KEY)")
	}
	base, err := httpx.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: Config.BaseURL (SYMPHONY_SENDGRID_URL): %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("sendgrid: Config.Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = httpx.New(httpx.Config{Logger: cfg.Logger})
	}
	return &Client{http: cfg.HTTPClient, endpoint: base + "/v3/mail/send", apiKey: cfg.APIKey, timeout: cfg.Timeout}, nil
}

// Name returns "sendgrid".
func (c *Client) Name() string { return Name }

// SendEmail sends e as one POST /v3/mail/send. SendGrid takes no idempotency
// key, so the request is not marked replay-safe.
func (c *Client) SendEmail(ctx context.Context, _ provider.Send, e *provider.Email) (provider.Receipt, error) {
	body, err := httpx.JSON(newMailRequest(e))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "encoding request", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "building request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	return classify(resp, err, time.Now())
}
