package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	storage_go "github.com/supabase-community/storage-go"
	"github.com/supabase-community/supabase-go"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// Fetcher returns the bytes and content type of one stored object, refusing
// objects larger than max bytes.
type Fetcher interface {
	Fetch(ctx context.Context, bucket, path string, max int64) ([]byte, string, error)
}

// Supabase fetches from a project's Storage.
type Supabase struct {
	storage *storage_go.Client
	http    *http.Client
}

// NewSupabase returns a Fetcher for the project at url (SUPABASE_URL) with
// the service-role key, downloading over hc.
func NewSupabase(url, serviceRoleKey string, hc *http.Client) (*Supabase, error) {
	c, err := supabase.NewClient(strings.TrimRight(url, "/"), serviceRoleKey, nil)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &Supabase{storage: c.Storage, http: hc}, nil
}

// signedURLTTL is how long a signed URL lives: long enough for one download.
const signedURLTTL = 60

// Fetch signs a URL for bucket/path and downloads it, at most max bytes.
func (s *Supabase) Fetch(ctx context.Context, bucket, path string, max int64) ([]byte, string, error) {
	type signed struct {
		url string
		err error
	}
	ch := make(chan signed, 1)
	go func() {
		r, err := s.storage.CreateSignedUrl(bucket, path, signedURLTTL)
		ch <- signed{r.SignedURL, err}
	}()
	var url string
	select {
	case <-ctx.Done():
		return nil, "", fmt.Errorf("storage: signing %s/%s: %w", bucket, path, ctx.Err())
	case r := <-ch:
		if r.err != nil {
			return nil, "", classifySign(bucket, path, r.err)
		}
		url = r.url
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", provider.Permanent(fmt.Errorf("storage: bad signed URL for %s/%s: %w", bucket, path, err))
	}
	resp, err := s.http.Do(req)
	if err != nil {
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
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
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

// classifySign turns a signing failure into a permanent error when Storage
// says the object or bucket is not there or not ours to read, and a transient
// one otherwise (network trouble, Storage down). storage-go v0.7 keeps only the
// message of Storage's error body ({"statusCode", "error", "message"}).
func classifySign(bucket, path string, err error) error {
	err = fmt.Errorf("storage: signing %s/%s: %w", bucket, path, err)
	var se *storage_go.StorageError
	if errors.As(err, &se) {
		m := strings.ToLower(se.Message)
		for _, permanent := range []string{"not found", "invalid", "row-level security", "unauthorized", "signature"} {
			if strings.Contains(m, permanent) {
				return provider.Permanent(err)
			}
		}
	}
	return err
}
