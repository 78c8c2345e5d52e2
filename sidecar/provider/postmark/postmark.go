package postmark

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
const Name = "postmark"

// DefaultBaseURL is Postmark's API.
const DefaultBaseURL = "https://api.postmarkapp.com"

// Config configures a Client.
type Config struct {
	// ServerToken is the Postmark Server API token (POSTMARK_SERVER_TOKEN),
	// sent in X-Postmark-Server-Token.
	ServerToken string
	// BaseURL overrides DefaultBaseURL (SYMPHONY_POSTMARK_URL).
	BaseURL string
	// MessageStream names the stream to send through. Empty sends none, and
	// Postmark uses the server's default transactional stream ("outbound").
	MessageStream string
	// HTTPClient is the shared client from httpx.New. Nil builds one.
	HTTPClient *http.Client
	// Timeout bounds one send, in-process retries included.
	// Zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// Logger is handed to the client built when HTTPClient is nil.
	Logger *slog.Logger
}

// Client sends email through Postmark. Safe for concurrent use.
type Client struct {
	http     *http.Client
	endpoint string
	token    string
	stream   string
	timeout  time.Duration
}

var _ provider.EmailSender = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.ServerToken == "" {
		return nil, errors.New("postmark: Config.ServerToken is required (POSTMARK_SERVER_TOKEN)")
	}
	base, err := httpx.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("postmark: Config.BaseURL (SYMPHONY_POSTMARK_URL): %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("postmark: Config.Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = httpx.New(httpx.Config{Logger: cfg.Logger})
	}
	return &Client{http: cfg.HTTPClient, endpoint: base + "/email", token: cfg.ServerToken,
		stream: cfg.MessageStream, timeout: cfg.Timeout}, nil
}

// Name returns "postmark".
func (c *Client) Name() string { return Name }

// StatesNoRateLimit: Postmark's answers say nothing of a rate limit; it
// answers 429 when one is exceeded.
func (c *Client) StatesNoRateLimit() bool { return true }

// SendEmail sends e as one POST /email. Postmark takes no idempotency key, so
// the request is not marked replay-safe.
func (c *Client) SendEmail(ctx context.Context, _ provider.Send, e *provider.Email) (provider.Receipt, error) {
	body, err := httpx.JSON(newEmailRequest(e, c.stream))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "encoding request", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "building request", Err: err}
	}
	// Postmark requires both Accept and Content-Type to be application/json.
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Postmark-Server-Token", c.token)
	resp, err := c.http.Do(req)
	return classify(resp, err, time.Now())
}
