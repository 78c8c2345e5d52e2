package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// Fetcher returns the bytes and content type of one stored object, refusing
// objects larger than max bytes.
type Fetcher interface {
	Fetch(ctx context.Context, bucket, path string, max int64) ([]byte, string, error)
}

// Supabase fetches from a project's Storage.
type Supabase struct {
	base string // {SUPABASE_URL}/storage/v1
	key  string
	http *http.Client
	// SignTimeout bounds the signing call whatever the caller's deadline: a
	// Storage that stalls costs an attempt this long, never a goroutine or a
	// connection. NewSupabase sets DefaultSignTimeout.
	SignTimeout time.Duration
}

// DefaultSignTimeout is how long signing a URL may take: Storage answers in
// milliseconds when it is well.
const DefaultSignTimeout = 10 * time.Second

// NewSupabase returns a Fetcher for the project at projectURL (SUPABASE_URL)
// with the service-role key, calling Storage over hc.
func NewSupabase(projectURL, serviceRoleKey string, hc *http.Client) (*Supabase, error) {
	if projectURL == "" || serviceRoleKey == "" {
		return nil, errors.New("storage: SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are required")
	}
	if _, err := url.Parse(projectURL); err != nil {
		return nil, fmt.Errorf("storage: SUPABASE_URL: %w", err)
	}
	return &Supabase{base: strings.TrimRight(projectURL, "/") + "/storage/v1", key: serviceRoleKey, http: hc,
		SignTimeout: DefaultSignTimeout}, nil
}

// signedURLTTL is how long a signed URL lives, in seconds: long enough for one
// download.
const signedURLTTL = 60

// Fetch signs a URL for bucket/path and downloads it, at most max bytes.
func (s *Supabase) Fetch(ctx context.Context, bucket, path string, max int64) ([]byte, string, error) {
	signed, err := s.sign(ctx, bucket, path)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, signed, nil)
	if err != nil {
		return nil, "", provider.Permanent(fmt.Errorf("storage: bad signed URL for %s/%s: %w", bucket, path, err))
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// Not the *url.Error itself: its text quotes the signed URL, token and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("storage: downloading %s/%s: %w", bucket, path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest:
		return nil, "", provider.Permanent(fmt.Errorf("storage: %s/%s: not found (http %d)", bucket, path, resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return nil, "", &provider.Error{Provider: "storage", StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("downloading %s/%s", bucket, path)}
	case resp.ContentLength > max:
		return nil, "", tooLarge(bucket, path, resp.ContentLength, max)
	}
	// Sized from Content-Length when known, so that reading does not hold
	// the doubling copies io.ReadAll makes on the way.
	size := int64(0)
	if resp.ContentLength > 0 {
		size = resp.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	b := buf.Bytes()
	if err != nil {
		return nil, "", fmt.Errorf("storage: downloading %s/%s: %w", bucket, path, err)
	}
	if int64(len(b)) > max {
		return nil, "", tooLarge(bucket, path, int64(len(b)), max)
	}
	return b, resp.Header.Get("Content-Type"), nil
}

func tooLarge(bucket, path string, size, max int64) error {
	return provider.Permanent(fmt.Errorf("storage: %s/%s is %d bytes or more; attachments may total at most %d bytes (SYMPHONY_ATTACHMENT_MAX_BYTES)",
		bucket, path, size, max))
}

// sign asks Storage for a short-lived URL of bucket/path (POST
// /object/sign/{bucket}/{path} with the service-role key; the answer is
// {"signedURL": "/object/sign/…?token=…"}), under the caller's deadline and
// SignTimeout, whichever comes first, so a stalled call is cut off with its
// connection.
func (s *Supabase) sign(ctx context.Context, bucket, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.SignTimeout)
	defer cancel()
	segs := strings.Split(path, "/")
	for i := range segs {
		segs[i] = url.PathEscape(segs[i])
	}
	body := strings.NewReader(fmt.Sprintf(`{"expiresIn":%d}`, signedURLTTL))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		s.base+"/object/sign/"+url.PathEscape(bucket)+"/"+strings.Join(segs, "/"), body)
	if err != nil {
		return "", provider.Permanent(fmt.Errorf("storage: signing %s/%s: %w", bucket, path, err))
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("apikey", s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("storage: signing %s/%s: Storage did not answer in time: %w", bucket, path, ctx.Err())
		}
		return "", fmt.Errorf("storage: signing %s/%s: %w", bucket, path, err)
	}
	defer resp.Body.Close()
	var answer struct {
		SignedURL string `json:"signedURL"`
		Message   string `json:"message"` // Storage's error body: {"statusCode", "error", "message"}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer); err != nil && resp.StatusCode < 300 {
		return "", fmt.Errorf("storage: signing %s/%s: unreadable answer (http %d): %w", bucket, path, resp.StatusCode, err)
	}
	if resp.StatusCode >= 300 || answer.SignedURL == "" {
		return "", classifySign(bucket, path, resp.StatusCode, answer.Message)
	}
	return s.base + answer.SignedURL, nil
}

// classifySign turns a signing failure into a permanent error when Storage
// says the object or bucket is not there or not ours to read, and a transient
// one otherwise (Storage down, rate limited). Storage words these in the
// message of its error body, with 400 for most of them.
func classifySign(bucket, path string, status int, message string) error {
	// A plain error, not a provider.Error: Storage's 429 is not the email
	// provider's, and must not pause the queue's rate-limit bucket.
	err := fmt.Errorf("storage: signing %s/%s: http %d: %s", bucket, path, status, message)
	m := strings.ToLower(message)
	for _, permanent := range []string{"not found", "invalid", "row-level security", "unauthorized", "signature"} {
		if strings.Contains(m, permanent) {
			return provider.Permanent(err)
		}
	}
	return err
}
