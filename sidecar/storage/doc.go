// Package storage fetches email attachments from Supabase Storage behind a
// small interface (Fetcher), so the client underneath can be swapped.
//
// Two calls, both over the sidecar's own HTTP client and under the caller's
// context: sign a short-lived URL (POST /storage/v1/object/sign/{bucket}/{path}
// with the service-role key), then download it, reading at most the bytes
// allowed. supabase-go's storage client (v0.0.4, the only served version;
// unmaintained upstream) did the signing until it was swapped out here: its
// call takes no context, so a Storage that stalled kept a goroutine and a
// connection per attempt for as long as it stalled. Signing now has a deadline
// of its own (Supabase.SignTimeout) even when the caller sets none.
package storage
