package resend

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
const Name = "resend"

// DefaultBaseURL is Resend's API.
const DefaultBaseURL = "https://api.resend.com"

// Config configures a Client.
type Config struct {
	// APIKey is the Resend API key (RESEND_API_KEY), sent as a Bearer token.
	APIKey string
	// BaseURL overrides DefaultBaseURL (SYMPHONY_RESEND_URL): tests, proxies.
	BaseURL string
	// HTTPClient is the shared client from httpx.New. Nil builds one.
	HTTPClient *http.Client
	// Timeout bounds one send, in-process retries included.
	// Zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// Logger is handed to the client built when HTTPClient is nil.
	Logger *slog.Logger
}

// Client sends email through Resend. Safe for concurrent use.
type Client struct {
	http     *http.Client
	endpoint string
	apiKey   string
	timeout  time.Duration
}

var (
	_ provider.EmailSender = (*Client)(nil)
	_ provider.Idempotent  = (*Client)(nil)
)

// IdempotentRetries is true: every attempt of a message carries the same
// Idempotency-Key, and Resend answers a repeat without sending again.
func (c *Client) IdempotentRetries() bool { return true }

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("resend: Config.APIKey is required (RESEND_API_KEY)")
	}
	base, err := httpx.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("resend: Config.BaseURL (SYMPHONY_RESEND_URL): %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("resend: Config.Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = httpx.New(httpx.Config{Logger: cfg.Logger})
	}
	return &Client{http: cfg.HTTPClient, endpoint: base + "/emails", apiKey: cfg.APIKey,
		timeout: cfg.Timeout}, nil
}

// Name returns "resend".
func (c *Client) Name() string { return Name }

// SendEmail sends e as one POST /emails with the message's idempotency key.
func (c *Client) SendEmail(ctx context.Context, s provider.Send, e *provider.Email) (provider.Receipt, error) {
	body, err := httpx.JSON(newEmailRequest(e))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "encoding request", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// The key makes a repeat return the original answer, so httpx may retry
	// an unknown outcome in-process.
	ctx = httpx.WithReplaySafe(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "building request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// Resend scopes keys to the team and message ids restart in every database;
	// the key includes the database's installation id (Send.Namespace), so
	// staging's message 42 never replays production's.
	req.Header.Set("Idempotency-Key", s.IdempotencyKey())
	resp, err := c.http.Do(req)
	return classify(resp, err, time.Now())
}
