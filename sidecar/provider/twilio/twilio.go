package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
)

// Name is the provider name in receipts, errors and SYMPHONY_SMS_PROVIDER.
const Name = "twilio"

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// Config configures a Client.
type Config struct {
	// AccountSID (TWILIO_ACCOUNT_SID, "AC…") names the account in the URL and
	// is the basic-auth user unless an API key is set.
	AccountSID string
	// AuthToken (TWILIO_AUTH_TOKEN) is the basic-auth password with AccountSID.
	AuthToken string
	// APIKeySID ("SK…") and APIKeySecret, when set, are the basic-auth user
	// and password instead of AccountSID and AuthToken.
	APIKeySID, APIKeySecret string
	// From (TWILIO_FROM) is the default sender: an E.164 number, an
	// alphanumeric sender ID or a Messaging Service SID (sent as
	// MessagingServiceSid, as is an "MG…" from in a message).
	From string
	// MessagingServiceSID (TWILIO_MESSAGING_SERVICE_SID, "MG…") sends through
	// a Messaging Service; it takes precedence over From.
	MessagingServiceSID string
	// StatusCallback (TWILIO_STATUS_CALLBACK), when set, is the URL Twilio
	// posts delivery status changes to.
	StatusCallback string
	// BaseURL overrides DefaultBaseURL (SYMPHONY_TWILIO_URL).
	BaseURL string
	// HTTPClient is the shared client from httpx.New. Nil builds one.
	HTTPClient *http.Client
	// Timeout bounds one send, in-process retries included.
	// Zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// Logger is handed to the client built when HTTPClient is nil.
	Logger *slog.Logger
}

// Client sends SMS through Twilio. Safe for concurrent use.
type Client struct {
	http           *http.Client
	endpoint       string
	user, password string
	from, service  string
	statusCallback string
	timeout        time.Duration
}

var _ provider.SMSSender = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	var errs []error
	if !sid(cfg.AccountSID, "AC") {
		errs = append(errs, errors.New("Config.AccountSID (TWILIO_ACCOUNT_SID) must be an Account SID: AC followed by 32 hex digits"))
	}
	user, password := cfg.AccountSID, cfg.AuthToken
	switch {
	case cfg.APIKeySID != "" || cfg.APIKeySecret != "":
		if !sid(cfg.APIKeySID, "SK") || cfg.APIKeySecret == "" {
			errs = append(errs, errors.New("Config.APIKeySID (SK followed by 32 hex digits) and Config.APIKeySecret must be set together"))
		}
		user, password = cfg.APIKeySID, cfg.APIKeySecret
	case cfg.AuthToken == "":
		errs = append(errs, errors.New("Config.AuthToken (TWILIO_AUTH_TOKEN) is required unless an API key is set"))
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		errs = append(errs, errors.New("Config.From (TWILIO_FROM) or Config.MessagingServiceSID (TWILIO_MESSAGING_SERVICE_SID) is required"))
	}
	if cfg.MessagingServiceSID != "" && !sid(cfg.MessagingServiceSID, "MG") {
		errs = append(errs, errors.New("Config.MessagingServiceSID (TWILIO_MESSAGING_SERVICE_SID) must be MG followed by 32 hex digits"))
	}
	if cfg.StatusCallback != "" {
		if u, err := url.Parse(cfg.StatusCallback); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("Config.StatusCallback (TWILIO_STATUS_CALLBACK) must be an absolute http(s) URL"))
		}
	}
	base, err := httpx.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		errs = append(errs, fmt.Errorf("Config.BaseURL (SYMPHONY_TWILIO_URL): %w", err))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("Config.Timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = httpx.New(httpx.Config{Logger: cfg.Logger})
	}
	return &Client{
		http:     cfg.HTTPClient,
		endpoint: base + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		user:     user, password: password,
		from: cfg.From, service: cfg.MessagingServiceSID,
		statusCallback: cfg.StatusCallback,
		timeout:        cfg.Timeout,
	}, nil
}

// sid reports whether s is a Twilio SID with the given two-letter prefix.
func sid(s, prefix string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range s[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// setSender names the sender: a Messaging Service SID ("MG…") as
// MessagingServiceSid, which Twilio takes only there (as From it is refused
// with 21212); anything else, a number or a sender ID, as From.
func setSender(form url.Values, from string) {
	if sid(from, "MG") {
		form.Set("MessagingServiceSid", from)
		return
	}
	form.Set("From", from)
}

// Name returns "twilio".
func (c *Client) Name() string { return Name }

// SendSMS creates one Message resource. Twilio takes no idempotency key on
// this endpoint, so the request is not marked replay-safe.
func (c *Client) SendSMS(ctx context.Context, _ provider.Send, m *provider.SMS) (provider.Receipt, error) {
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	switch {
	case m.From != "":
		setSender(form, m.From)
	case c.service != "":
		form.Set("MessagingServiceSid", c.service)
	default:
		setSender(form, c.from)
	}
	if c.statusCallback != "" {
		form.Set("StatusCallback", c.statusCallback)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Receipt{}, &provider.Error{Provider: Name, Permanent: true, Message: "building request", Err: err}
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	return classify(resp, err, time.Now())
}
