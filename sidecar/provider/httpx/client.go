package httpx

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// Defaults for Config. DefaultTimeout is what a provider allows one send,
// in-process retries included, when its own Config leaves Timeout zero.
const (
	DefaultRetryMax     = 2
	DefaultRetryWaitMin = 100 * time.Millisecond
	DefaultRetryWaitMax = time.Second
	DefaultTimeout      = 30 * time.Second
	DefaultVersion      = "dev"
	userAgentProduct    = "symphony-messenger/"
	// maxIdleConnsPerHost covers a sidecar's sends in flight to one provider
	// at a high queue concurrency, so connections are reused, not churned.
	maxIdleConnsPerHost = 1024
)

// Config configures the shared provider HTTP client. The zero value is usable.
type Config struct {
	// Version goes into the User-Agent as "symphony-messenger/<Version>".
	// Empty means DefaultVersion.
	Version string

	// Logger receives the retry library's messages (attempts, retries,
	// transport errors) through an slog adapter. Nil discards them.
	Logger *slog.Logger

	// RetryMax is how many times one request may be repeated in-process, on
	// top of the first attempt. Zero means DefaultRetryMax; negative disables
	// in-process retries.
	RetryMax int

	// RetryWaitMin and RetryWaitMax bound the wait between in-process
	// attempts (exponential with jitter). Zero means the defaults.
	RetryWaitMin, RetryWaitMax time.Duration

	// Transport is the round tripper that does the I/O. Nil means a pooled
	// transport with sane dial, TLS and idle timeouts (go-cleanhttp).
	Transport http.RoundTripper

	// Observe, when set, is told about every HTTP attempt (in-process retries
	// included): the host, the status code (0 when no response arrived), the
	// transport error and how long it took. The sidecar records metrics with it.
	Observe Observer

	// RateSignals, when set, is told of every answer whose headers say
	// something about the account's rate limit (see RateSignal).
	RateSignals RateSignals
}

// Observer is Config.Observe.
type Observer func(host string, status int, err error, took time.Duration)

// UserAgent is the User-Agent header value for version.
func UserAgent(version string) string {
	if version == "" {
		version = DefaultVersion
	}
	return userAgentProduct + version
}

// New returns the client all providers share. It does not follow redirects: a
// redirected send is answered to the caller as the 3xx it is, because
// re-posting a message to another address is not something to do silently.
// It has no overall timeout; each send carries its own context deadline.
func New(cfg Config) *http.Client {
	if cfg.RetryMax == 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.RetryMax < 0 {
		cfg.RetryMax = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = DefaultRetryWaitMin
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = DefaultRetryWaitMax
	}
	if cfg.RetryWaitMax < cfg.RetryWaitMin {
		cfg.RetryWaitMax = cfg.RetryWaitMin
	}
	base := cfg.Transport
	if base == nil {
		t := cleanhttp.DefaultPooledTransport()
		// cleanhttp keeps GOMAXPROCS+1 idle connections per host: with dozens
		// of sends in flight to one provider, every other request would open
		// (and then close) a connection of its own.
		t.MaxIdleConnsPerHost = maxIdleConnsPerHost
		t.MaxIdleConns = 4 * maxIdleConnsPerHost // cleanhttp's 100 in all would cap one busy host first
		base = t
	}
	if cfg.Observe != nil || cfg.RateSignals != nil {
		base = &observingTransport{next: base, observe: cfg.Observe, signals: cfg.RateSignals}
	}
	p := policy{waitMax: cfg.RetryWaitMax}
	rc := &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: &userAgentTransport{next: base, ua: UserAgent(cfg.Version)},
			// Redirects are handled (that is, refused) by the outer client.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Logger:       newLeveledLogger(cfg.Logger),
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.RetryMax,
		CheckRetry:   p.checkRetry,
		Backoff:      backoff,
		ErrorHandler: lastResponse,
	}
	return &http.Client{
		Transport:     &retryablehttp.RoundTripper{Client: rc},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// userAgentTransport sets User-Agent on every attempt unless the caller set one.
type userAgentTransport struct {
	next http.RoundTripper
	ua   string
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.ua)
	}
	return t.next.RoundTrip(req)
}

// lastResponse is the retry library's ErrorHandler: once in-process retries are
// used up it returns the last response unchanged (so the provider classifies
// the real 5xx and its body) or the last transport error.
func lastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		return nil, err
	}
	return resp, nil
}
